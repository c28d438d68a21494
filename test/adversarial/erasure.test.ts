import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, refusal, type TestApp } from '../support/app.js';
import { participant, passAndOpenDatanet, proposalBody, uniqueId } from '../support/participants.js';
import { runPrivateScenario, CLINICAL_SPEC, type PrivateScenarioResult } from '../../scenarios/private-scenario.js';
import { CLINICAL_KEYWORDS, clinicalNotes } from '../../scenarios/clinical-notes.js';
import { buildMerkleTree, verifyProof } from '../../domain/data/merkle.js';
import { payableContributors } from '../../domain/serving/erased-share.js';
import { splitFee } from '../../domain/serving/fee-split.js';
import { DEFAULT_PARAMS } from '../../domain/lifecycle/params.js';
import { accountsOf } from '../../contracts/accounts.js';
import { deploymentIdOf, signRequest } from '../../identity/request-signing.js';
import { splitLines } from '../../storage/jsonl.js';
import { recordRefOf } from '../../storage/packs.js';
import { kekOf, requireKek } from '../../infra/kms/from-config.js';
import { RecordOpener } from '../../infra/private-records/open-records.js';
import type { CommonsClient } from '../../client/commons-client.js';
import type { ErasureResponse } from '../../api/schemas/erasure.js';
import type { VersionsResponse } from '../../api/schemas/curation.js';

/**
 * Attacks on erasure on request, on the real stack: a private Datanet run to serving (the private
 * demo's scenario, which ends with a clinician erasing the record a paid answer leaned on most),
 * then strangers, curators and the owner trying to erase a record that is not theirs, replays and
 * races, an erasure while the collection waits for curators between scoring and the manifest, and
 * a public Datanet's record. The ledger's invariants are checked last.
 */
const FEE = 1000n;

describe('adversarial: erasure on request', () => {
  let app: TestApp;
  let r: PrivateScenarioResult;
  const id = uniqueId('erase');

  const versions = async (datanetId: string) =>
    (await r.developer.get<VersionsResponse>(`/v1/datanets/${datanetId}/versions?limit=100`)).versions;
  const keyRows = (datanetId: string, hash: string) =>
    app.sql`select 1 from record_keys where datanet_id = ${datanetId} and hash = ${hash}`;
  const erasureRows = (datanetId: string, hash: string) =>
    app.sql<
      { contributor: string; erased_by: string }[]
    >`select contributor, erased_by from record_erasures where datanet_id = ${datanetId} and hash = ${hash}`;
  const manifestHashes = async (key: string) =>
    splitLines(await app.store.get(key))
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { hash: string }).hash);
  /** A record of `c`'s that is still accepted and not erased. */
  const liveRecordOf = (c: CommonsClient, skip: readonly string[] = []) => {
    const s = r.submitted.find(
      (x) => x.contributor === c.address && x.hash !== r.erased.hash && !skip.includes(x.hash),
    );
    if (!s) throw new Error('no record left to attack');
    return s.hash;
  };

  beforeAll(async () => {
    app = await startTestApp();
    r = await runPrivateScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: id,
      modelName: id,
      records: 160,
      clinicians: 2,
      canary: `canary-${id}`,
      treasuryBalance: async () => BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN')),
      pollMs: 300,
      params: {
        collection: { batchSize: 40, minAcceptedRecords: 30 },
        deployment: { minAccuracy: 0, minMacroF1: 0 },
        serving: { feePerCall: FEE.toString() },
      },
    });
  }, 600_000);

  afterAll(async () => {
    await app?.close();
  });

  it('only the contributor erases: a stranger, a curator, the owner and another clinician are refused and the key stays', async () => {
    const [a, b] = r.clinicians;
    if (!a || !b) throw new Error('two clinicians');
    const hash = liveRecordOf(a);
    const stranger = await participant(app.url, ['contributor']);
    for (const who of [stranger, r.curator, r.developer, b]) {
      const e = await refusal(who.eraseContribution(id, hash));
      expect(e.status).toBe(403);
      expect(e.message).toMatch(/only the contributor/);
    }
    // Unsigned: no caller at all.
    const res = await fetch(`${app.url}/v1/datanets/${id}/contributions/${hash}/erase`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
    expect(await keyRows(id, hash)).toHaveLength(1);
    expect(await erasureRows(id, hash)).toHaveLength(0);
    // Nor is an erased record anyone else's to "erase again": still 403, not "already erased".
    const other = r.clinicians.find((c) => c.address !== r.erased.by.address);
    if (!other) throw new Error('another clinician');
    expect((await refusal(other.eraseContribution(id, r.erased.hash))).status).toBe(403);
  });

  it('an erased record opens for nobody: its key is gone, the workers leave it out, its pack holds only ciphertext', async () => {
    expect(r.erased.erasure.result).toBe('erased');
    expect(await keyRows(id, r.erased.hash)).toHaveLength(0);
    expect(await erasureRows(id, r.erased.hash)).toEqual([
      { contributor: r.erased.by.address, erased_by: r.erased.by.address },
    ]);
    const live = liveRecordOf(r.erased.by);
    const rows = await app.sql<{ hash: string; s3_key: string; pack_offset: string; pack_length: number }[]>`
      select hash, s3_key, pack_offset, pack_length from contributions
      where datanet_id = ${id} and hash = any(${[r.erased.hash, live]}::text[])`;
    // The workers' key material (the full KEK): the one thing that can open a record.
    const opener = new RecordOpener({ sql: app.sql, store: app.store, kek: requireKek(kekOf(app.cfg.kek)) });
    const opened = await opener.openRecords(id, rows.map(recordRefOf), { actor: 'test:erasure', purpose: 'scoring' });
    expect(opened.has(r.erased.hash)).toBe(false);
    expect(opened.get(live)?.ok).toBe(true);
    // A direct read of the bucket: the erased record's bytes and its whole pack are ciphertext.
    const note = r.submitted.find((s) => s.hash === r.erased.hash)?.note;
    if (!note) throw new Error('the erased note is known to the test');
    const erasedRow = rows.find((x) => x.hash === r.erased.hash)!;
    const pack = await app.store.get(erasedRow.s3_key);
    const bytes = pack.subarray(Number(erasedRow.pack_offset), Number(erasedRow.pack_offset) + erasedRow.pack_length);
    expect(bytes.length).toBeGreaterThan(0);
    for (const b of [bytes, pack]) {
      expect(b.includes(note)).toBe(false);
      expect(b.includes('presents: ')).toBe(false);
    }
  });

  it('the next dataset version lacks it, and its proof from the version before still verifies by hash', async () => {
    const all = await versions(id);
    const latest = all.at(-1)!;
    const previous = all.at(-2)!;
    expect(r.erased.erasure.version?.version).toBe(latest.version);
    expect(latest.cause).toBe(`erasure of ${r.erased.hash}`);
    expect(latest.records).toBe(previous.records - 1);
    const inLatest = await manifestHashes(latest.manifestKey);
    expect(inLatest).not.toContain(r.erased.hash);
    expect(await manifestHashes(previous.manifestKey)).toContain(r.erased.hash);
    expect(buildMerkleTree([...inLatest].sort()).root).toBe(latest.merkleRoot);
    // The proof its contributor took before erasing names the earlier version, whose root is still published.
    expect(r.erased.proof.root).toBe(previous.merkleRoot);
    expect(r.erased.proof.proof.leaf).toBe(r.erased.hash);
    expect(verifyProof(r.erased.proof.proof, previous.merkleRoot)).toBe(true);
    // Asked now, the API names the record erased instead of proving it into a version it left.
    const e = await refusal(r.developer.proof(r.erased.hash));
    expect(e.status).toBe(409);
    expect(e.message).toMatch(/erased/);
    // Every other record still proves into the latest version.
    const other = await r.developer.proof(liveRecordOf(r.erased.by));
    expect(other.root).toBe(latest.merkleRoot);
    expect(verifyProof(other.proof, latest.merkleRoot)).toBe(true);
  });

  it('a paid call to the version trained on it pays its share to the treasury, not its contributor', () => {
    // The version still serves, answering as before (same attribution: it names records by hash).
    expect(r.after.version).toBe(r.before.version);
    expect(r.after.attribution.records.map((x) => x.hash)).toContain(r.erased.hash);
    // What the fee rule says the contributors' part of that call pays, with and without the erasure.
    const split = (erased: Set<string>) =>
      splitFee(FEE, DEFAULT_PARAMS.serving.shares, {
        developer: 'developer',
        contributors: payableContributors(r.before.attribution, erased),
        reviewers: [],
        governors: [],
      }).filter((s) => s.part === 'contributors');
    const to = (s: ReturnType<typeof split>, who: string) =>
      s.filter((x) => x.to === who).reduce((n, x) => n + x.amount, 0n);
    const withErasure = split(new Set([r.erased.hash]));
    const moved = to(withErasure, accountsOf.treasury);
    expect(moved).toBeGreaterThan(0n);
    expect(r.paid.before.clinician).toBe(to(split(new Set()), r.erased.by.address));
    expect(r.paid.after.clinician).toBe(to(withErasure, r.erased.by.address));
    expect(r.paid.after.clinician).toBeLessThan(r.paid.before.clinician);
    // The treasury takes exactly the erased record's share on top of what it took before.
    expect(r.paid.after.treasury - r.paid.before.treasury).toBe(moved);
  });

  it('a replayed or raced erasure does nothing twice', async () => {
    expect(r.erased.again.result).toBe('already-erased');
    expect(r.erased.again.version).toBeNull();
    const c = r.erased.by;
    const hash = liveRecordOf(c);
    // The very same signed request twice: the second is a replay, refused before anything runs.
    const deploymentId = await deploymentIdOf(app.url);
    /** A signed erasure request of `c`'s, sent as is (`now` makes each signature distinct). */
    const request = (h: string, now = Date.now()) => {
      const path = `/v1/datanets/${id}/contributions/${h}/erase`;
      const headers = {
        ...signRequest({ deploymentId, method: 'POST', path, body: '{}', keys: c.keys!, now }),
        'content-type': 'application/json',
      };
      return () => fetch(app.url + path, { method: 'POST', headers, body: '{}' });
    };
    const once = request(hash);
    const first = await once();
    expect(first.status).toBe(200);
    expect(((await first.json()) as ErasureResponse).result).toBe('erased');
    const replay = await once();
    expect(replay.status).toBe(401);
    expect(await replay.text()).toMatch(/replayed/);
    // Five fresh requests at once for another record: one erases, the others find it erased.
    const raced = liveRecordOf(c, [hash]);
    const before = (await versions(id)).length;
    const t = Date.now();
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => request(raced, t + i)()));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const results = (await Promise.all(answers.map((a) => a.json()))) as ErasureResponse[];
    expect(results.filter((x) => x.result === 'erased')).toHaveLength(1);
    expect(results.filter((x) => x.result === 'already-erased')).toHaveLength(4);
    expect(await erasureRows(id, raced)).toHaveLength(1);
    const after = await versions(id);
    expect(after).toHaveLength(before + 1);
    expect(await manifestHashes(after.at(-1)!.manifestKey)).not.toContain(raced);
  });

  it('an erasure while the collection waits between scoring and the manifest leaves the record out cleanly', async () => {
    const waiting = uniqueId('erase-wait');
    const dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    const [clinician] = r.clinicians;
    if (!clinician) throw new Error('a clinician');
    await dev.propose({
      ...proposalBody(waiting, {
        governance: { votingPeriodMs: 60_000 },
        collection: {
          windowMs: 600_000,
          targetCount: 40,
          pollIntervalMs: 300,
          batchSize: 20,
          minAcceptedRecords: 1,
          keywords: CLINICAL_KEYWORDS,
        },
        rlhf: { rounds: 0 },
        deployment: { minAccuracy: 0, minMacroF1: 0 },
      }),
      description: 'Classifies clinical notes as urgent or routine.',
      domain: 'clinical triage',
      labels: ['urgent', 'routine'],
      datanetSpec: Object.assign(
        { ...CLINICAL_SPEC },
        {
          visibility: 'private' as const,
          access: { curation: { curators: [r.curator.address], requireApproval: true, reviewMs: 600_000 } },
        },
      ),
      budget: '0',
    });
    await passAndOpenDatanet(dev, gov, waiting);
    const notes = clinicalNotes(40, 31).map((n) => ({ note: n.note, triage: n.triage }));
    const sent = await clinician.contributeBatch(waiting, notes);
    const hashes = sent.results.map((x) => x.hash).filter((h): h is string => h !== undefined);
    expect(hashes).toHaveLength(40);
    // Scored (the target closed the window): the collection now waits for the curator's decisions.
    const scored = await eventually(async () => {
      const rows = await app.sql<{ hash: string }[]>`
        select hash from contributions where datanet_id = ${waiting} and status = 'accepted'`;
      const left =
        await app.sql`select 1 from contributions where datanet_id = ${waiting} and status in ('pending', 'scored')`;
      return rows.length > 2 && left.length === 0 ? rows.map((x) => x.hash) : undefined;
    }, 120_000);
    const gone = scored[0]!;
    expect((await clinician.eraseContribution(waiting, gone)).version).toBeNull(); // no version yet
    // The curator's queue no longer holds it; approving the rest releases the build at once.
    const queue = await r.curator.signed<{ records: { hash: string }[] }>(
      'GET',
      `/v1/datanets/${waiting}/curation/queue?limit=100`,
    );
    expect(queue.records.map((x) => x.hash)).not.toContain(gone);
    const approve = scored.filter((h) => h !== gone);
    await r.curator.signed('POST', `/v1/datanets/${waiting}/curation`, {
      decisions: approve.map((hash) => ({ hash, decision: 'approve', reason: 'clinically sound' })),
    });
    const v1 = await eventually(async () => (await versions(waiting))[0], 120_000);
    expect(v1.records).toBe(approve.length);
    expect(v1.merkleRoot).toBe(buildMerkleTree([...approve].sort()).root);
    expect(await manifestHashes(v1.manifestKey)).not.toContain(gone);
    // The lifecycle goes on past the build.
    await eventually(async () => {
      const s = await dev.proposal(waiting);
      return s.stage !== 'data-collection' ? s : undefined;
    }, 120_000);
    expect((await dev.proposal(waiting)).status).not.toBe('failed');
  });

  it("a public Datanet's record cannot be erased (its plaintext is out), and nothing is deleted", async () => {
    const open = uniqueId('erase-public');
    const dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    const contributor = await participant(app.url, ['contributor']);
    await dev.propose({
      ...proposalBody(open, { governance: { votingPeriodMs: 60_000 }, collection: { windowMs: 600_000 } }),
      budget: '0',
    });
    await passAndOpenDatanet(dev, gov, open);
    const { hash } = await contributor.contribute(open, {
      text: 'Hello, please find the meeting notes attached.',
      label: 'ham',
    });
    const e = await refusal(contributor.eraseContribution(open, hash));
    expect(e.status).toBe(409);
    expect(e.message).toMatch(/public/);
    expect(await erasureRows(open, hash)).toHaveLength(0);
    expect((await contributor.contributionPayload(hash)).hash).toBe(hash);
  });

  it('the ledger still balances', async () => {
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });
});
