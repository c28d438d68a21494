import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, refusal, type TestApp } from '../support/app.js';
import { participant, proposalBody, retireGovernor, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { EMAIL_KEYWORDS, SPAM_SPEC } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { contentHash } from '../../domain/data/content-hash.js';
import { buildDomainProfile } from '../../domain/data/relevance.js';
import { scoreRecord } from '../../domain/data/score-record.js';
import { buildMerkleTree } from '../../domain/data/merkle.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { accountsOf } from '../../contracts/accounts.js';
import { generateKeyPair } from '../../identity/keys.js';
import { attestationId, signAttestation, signRevocation } from '../../identity/attestations.js';
import { deploymentIdOf, signRequest } from '../../identity/request-signing.js';
import { createDeploymentActivities } from '../../activities/deployment/activities.js';

/**
 * Attacks on verified contributors, curated Datanets and submission deposits, on the real stack:
 * the API, the lifecycle and data workers, Postgres, S3 and Temporal. Each test asserts the attack
 * fails; the last one checks the ledger's invariants after all of them.
 */
const DEPOSIT = '10';
/** What a failed assessment attempt costs: below `poor`'s 5 OPEN, so that account can still attempt. */
const ATTEMPT_FEE = '3';
const DESCRIPTION = 'A spam classifier used by the test suite.';
const profile = buildDomainProfile({
  domain: 'email spam',
  description: DESCRIPTION,
  keywords: EMAIL_KEYWORDS,
  labels: ['spam', 'ham'],
});
// Records that pass scoring on their own (so what happens to them is curation's or dedupe's doing).
const corpus = loadSpamAssassin({ limit: 400, seed: 11 })
  .filter((r) => r.text.split(' ').length > 60)
  .filter(
    (r) =>
      scoreRecord(SPAM_SPEC, profile, { text: r.text, label: r.label }, { minQuality: 0.3, minRelevance: 0.1 })
        .status === 'accepted',
  )
  .map((r) => ({ text: r.text, label: r.label }));
let next = 0;
const take = () => {
  const r = corpus[next++];
  if (!r) throw new Error('ran out of corpus records');
  return r;
};
const nearCopyOf = (r: { text: string; label: string }) => {
  const w = r.text.split(' ');
  w[5] = 'definitely';
  w[w.length - 3] = 'regards';
  return { text: w.join(' '), label: r.label };
};

const collection = (extra: Record<string, unknown> = {}) => ({
  windowMs: 600_000,
  targetCount: 100_000,
  pollIntervalMs: 300,
  batchSize: 50,
  minAcceptedRecords: 1,
  keywords: EMAIL_KEYWORDS,
  ...extra,
});

describe('adversarial: verified contributors and curated Datanets', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let gov: CommonsClient;
  let curator: CommonsClient;
  let clinician: CommonsClient;
  let second: CommonsClient;
  const board = generateKeyPair();
  const started: string[] = [];
  const gated = uniqueId('gated');

  async function open(id: string, access: Record<string, unknown>, params: Record<string, unknown> = {}, budget = '0') {
    await dev.propose({
      ...proposalBody(id, { governance: { votingPeriodMs: 60_000 }, collection: collection(), ...params }),
      datanetSpec: { ...SPAM_SPEC, access },
      budget,
    });
    started.push(id);
    await eventually(async () => ((await dev.tally(id)).open ? true : undefined));
    await gov.vote(id, 'yes');
    await eventually(async () =>
      (await dev.datanet(id).catch(() => undefined))?.status === 'open' ? true : undefined,
    );
  }
  const attest = (who: string, over: { expiresAt?: number; key?: typeof board; claim?: string } = {}) =>
    signAttestation(over.key ?? board, {
      claim: over.claim ?? 'licensed clinician',
      subject: who,
      issuedAt: Date.now() - 1000,
      expiresAt: over.expiresAt ?? Date.now() + 3600_000,
    });
  const post = <T = unknown>(c: CommonsClient, path: string, body: unknown) => c.signed<T>('POST', path, body);
  const status = async (id: string, hash: string) =>
    (
      await app.sql<{ status: string }[]>`select status from contributions where datanet_id = ${id} and hash = ${hash}`
    )[0]?.status;
  const settlements = (id: string, hash: string) =>
    app.sql<{ to_account: string; amount: string }[]>`
      select to_account, amount::text from transfers where idempotency_key = ${`deposit:${id}:${hash}:settle`}`;

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dev = await participant(app.url, ['developer'], { OPEN: '100000' });
    gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    [curator, clinician, second] = await Promise.all([
      participant(app.url, ['reviewer']),
      participant(app.url, ['contributor'], { OPEN: '1000' }),
      participant(app.url, ['contributor'], { OPEN: '1000' }),
    ]);
    await open(gated, {
      credentials: [{ claim: 'licensed clinician', verifiers: [board.publicKey] }],
      assessment: { minScore: 0.75, maxAttempts: 2, failedAttemptFee: ATTEMPT_FEE },
      curation: { requireApproval: true, reviewMs: 600_000 },
      deposit: DEPOSIT,
    });
    await post(dev, `/v1/datanets/${gated}/assessment`, {
      items: [
        { prompt: 'WIN a FREE cruise, click now', choices: ['spam', 'ham'], answer: 'spam' },
        { prompt: 'Minutes of Tuesday meeting attached', choices: ['spam', 'ham'], answer: 'ham' },
        { prompt: 'Cheap meds, no prescription', choices: ['spam', 'ham'], answer: 'spam' },
        { prompt: 'Re: your patch to the mailing list', choices: ['spam', 'ham'], answer: 'ham' },
      ],
    });
  }, 180_000);

  afterAll(async () => {
    for (const id of started)
      await app.temporal.workflow
        .getHandle(workflowIds.lifecycle(id))
        .cancel()
        .catch(() => undefined);
    await retireGovernor(gov, dev.address).catch(() => undefined);
    await app?.close();
  });

  it('refuses a contributor with no credential and no assessment, naming both requirements', async () => {
    const e = await refusal(clinician.contribute(gated, take()));
    expect(e.status).toBe(403);
    expect(JSON.stringify(e.body)).toContain('the credential \\"licensed clinician\\"');
    expect(JSON.stringify(e.body)).toContain('a passed entry assessment');
  });

  it('refuses a forged attestation: a wrong verifier key, or a signature that is not the named verifier', async () => {
    const forger = generateKeyPair();
    // Well signed, by a key this Datanet does not name: on record, but worth nothing here.
    await post(clinician, '/v1/credentials', attest(clinician.address, { key: forger }));
    // Claims the board's key but is signed by the forger: refused outright.
    const lie = { ...attest(clinician.address, { key: forger }), verifier: board.publicKey };
    const e = await refusal(post(clinician, '/v1/credentials', lie));
    expect(e.status).toBe(400);
    const why =
      await app.sql`select 1 from attestations where verifier = ${board.publicKey} and subject = ${clinician.address}`;
    expect(why).toHaveLength(0);
    const r = await refusal(clinician.contribute(gated, take()));
    expect(r.status).toBe(403);
    expect(JSON.stringify(r.body)).toContain('not signed by a verifier this Datanet names');
  });

  it('refuses an expired credential, and a revoked one (revocable only by its verifier)', async () => {
    await post(clinician, '/v1/credentials', attest(clinician.address, { expiresAt: Date.now() - 1 }));
    const expired = await refusal(clinician.contribute(gated, take()));
    expect(expired.status).toBe(403);
    expect(JSON.stringify(expired.body)).toContain('has expired');

    const a = attest(clinician.address);
    await post(clinician, '/v1/credentials', a);
    const id = attestationId(a);
    const notVerifier = signRevocation(generateKeyPair(), id, Date.now());
    const e = await refusal(post(clinician, `/v1/credentials/${id}/revoke`, notVerifier));
    expect(e.status).toBe(403);
    // Valid credential now, but the assessment is still missing.
    const stillMissing = await refusal(clinician.contribute(gated, take()));
    expect(JSON.stringify(stillMissing.body)).not.toContain('credential');
    expect(JSON.stringify(stillMissing.body)).toContain('has not been taken');

    // A second account gets a credential that its verifier then revokes.
    await post(second, '/v1/credentials', attest(second.address));
    const b = attest(second.address, { claim: 'licensed clinician' });
    await post(second, '/v1/credentials', b);
    // (Two attestations: revoke both, so nothing valid is left.)
    for (const x of await app.sql<{ id: string }[]>`select id from attestations where subject = ${second.address}`)
      await post(dev, `/v1/credentials/${x.id}/revoke`, signRevocation(board, x.id, Date.now()));
    const revoked = await refusal(second.contribute(gated, take()));
    expect(revoked.status).toBe(403);
    expect(JSON.stringify(revoked.body)).toContain('revoked by its verifier');
  });

  it('refuses a contributor who has not passed the assessment, and caps the attempts', async () => {
    const failing = await post<{ passed: boolean; attemptsLeft: number; fee: string }>(
      second,
      `/v1/datanets/${gated}/assessment/attempts`,
      { answers: ['ham', 'spam', 'ham', 'ham'] },
    );
    expect(failing).toEqual({ attempt: 1, passed: false, attemptsLeft: 1, fee: ATTEMPT_FEE });
    await post(second, '/v1/credentials', attest(second.address, { expiresAt: Date.now() + 7200_000 }));
    const e = await refusal(second.contribute(gated, take()));
    expect(e.status).toBe(403);
    expect(JSON.stringify(e.body)).toContain('the entry assessment was not passed (1 of 2 attempts used)');
    expect(JSON.stringify(e.body)).not.toContain('0.25');
    // The served assessment never carries the answers.
    expect(JSON.stringify(await dev.get(`/v1/datanets/${gated}/assessment`))).not.toContain('answer');
    await post(second, `/v1/datanets/${gated}/assessment/attempts`, { answers: ['spam', 'ham', 'spam', 'ham'] });
    const over = await refusal(post(second, `/v1/datanets/${gated}/assessment/attempts`, { answers: ['spam'] }));
    expect([400, 429]).toContain(over.status);
    const third = await refusal(
      post(second, `/v1/datanets/${gated}/assessment/attempts`, { answers: ['spam', 'ham', 'spam', 'ham'] }),
    );
    expect(third.status).toBe(429);
  });

  it('gives a sybil probing the assessment with throwaway accounts no score to climb, and charges each failure', async () => {
    const answers = ['spam', 'ham', 'spam', 'ham'];
    // The classic score oracle: flip one answer per attempt and watch the score move. Each probe
    // comes from a fresh account (so the per-account cap never bites); every answer is pass/fail.
    for (let i = 0; i < answers.length; i++) {
      const probe = await participant(app.url, ['contributor'], { OPEN: '20' });
      // Right on item i only: a score would say which item that is; pass/fail says nothing.
      const probeAnswers = answers.map((x, j) => (j === i ? x : x === 'spam' ? 'ham' : 'spam'));
      const r = await post<Record<string, unknown>>(probe, `/v1/datanets/${gated}/assessment/attempts`, {
        answers: probeAnswers,
      });
      expect(Object.keys(r).sort()).toEqual(['attempt', 'attemptsLeft', 'fee', 'passed']);
      expect(r).toMatchObject({ passed: false, fee: ATTEMPT_FEE });
      const refused = await refusal(probe.contribute(gated, take()));
      expect(JSON.stringify(refused.body)).not.toMatch(/score \d|0\.\d\d/);
      expect(await app.ledger.balance(probe.address, 'OPEN')).toBe(String(20 - Number(ATTEMPT_FEE)));
      // Each failure is charged once, to the treasury.
      const fees = await app.sql<{ to_account: string; amount: string }[]>`
        select to_account, amount::text from transfers where from_account = ${probe.address}`;
      expect(fees).toEqual([{ to_account: 'treasury', amount: ATTEMPT_FEE }]);
    }
    // An account that cannot cover the fee is refused before its answers are judged: no free probe.
    const broke = await participant(app.url, ['contributor']);
    const e = await refusal(post(broke, `/v1/datanets/${gated}/assessment/attempts`, { answers }));
    expect(e.status).toBe(402);
    expect(
      (await app.sql`select 1 from assessment_attempts where datanet_id = ${gated} and contributor = ${broke.address}`)
        .length,
    ).toBe(0);
  });

  const records: { hash: string; rec: { text: string; label: string } }[] = [];

  it('takes each record deposit exactly once, and refuses (storing nothing) when it cannot be covered', async () => {
    await post(clinician, `/v1/datanets/${gated}/assessment/attempts`, { answers: ['spam', 'ham', 'spam', 'ham'] });
    const poor = await participant(app.url, ['contributor'], { OPEN: '5' });
    await post(poor, '/v1/credentials', attest(poor.address));
    await post(poor, `/v1/datanets/${gated}/assessment/attempts`, { answers: ['spam', 'ham', 'spam', 'ham'] });
    const rec = take();
    const e = await refusal(poor.contribute(gated, rec));
    expect(e.status).toBe(402);
    expect(await status(gated, contentHash(rec).hash)).toBeUndefined();

    const before = BigInt(await app.ledger.balance(clinician.address, 'OPEN'));
    for (let i = 0; i < 3; i++) {
      const r = take();
      const res = await clinician.contribute(gated, r);
      records.push({ hash: res.hash, rec: r });
    }
    const again = await clinician.contribute(gated, records[0]!.rec);
    expect(again.status).toBe('already-stored');
    expect(BigInt(await app.ledger.balance(clinician.address, 'OPEN'))).toBe(before - 3n * BigInt(DEPOSIT));
    expect(await app.ledger.balance(accountsOf.datanetDeposits(gated), 'OPEN')).toBe(String(3n * BigInt(DEPOSIT)));
  });

  it('lets neither a non-curator nor the contributor approve; the owner names a curator who can', async () => {
    const approve = { decisions: [{ hash: records[0]!.hash, decision: 'approve', reason: 'looks right' }] };
    const stranger = await participant(app.url, ['contributor']);
    expect((await refusal(post(stranger, `/v1/datanets/${gated}/curation`, approve))).status).toBe(403);
    // Nor may they read the undecided payloads of the queue.
    expect((await refusal(stranger.signed('GET', `/v1/datanets/${gated}/curation/queue`))).status).toBe(403);
    expect((await refusal(dev.get(`/v1/datanets/${gated}/curation/queue`))).status).toBe(401);
    expect((await refusal(post(clinician, `/v1/datanets/${gated}/curation`, approve))).status).toBe(403);
    // Only the owner names curators.
    expect((await refusal(post(curator, `/v1/datanets/${gated}/curators`, { curator: curator.address }))).status).toBe(
      403,
    );
    await post(dev, `/v1/datanets/${gated}/curators`, { curator: curator.address });
    const r = await post<{ applied: boolean; changed: number }>(curator, `/v1/datanets/${gated}/curation`, approve);
    expect(r).toMatchObject({ applied: false, changed: 1 });
    expect(await app.sql`select 1 from curation_decisions where datanet_id = ${gated}`).toHaveLength(1);
  });

  it('builds version 1 from curated statuses; a rejected record and a near-copy forfeit their deposits once', async () => {
    const [a, b, c] = records;
    // A second eligible contributor's near-copy of the first record: caught whatever a curator says.
    const copier = await participant(app.url, ['contributor'], { OPEN: '100' });
    await post(copier, '/v1/credentials', attest(copier.address));
    await post(copier, `/v1/datanets/${gated}/assessment/attempts`, { answers: ['spam', 'ham', 'spam', 'ham'] });
    const copy = await copier.contribute(gated, nearCopyOf(a!.rec));
    await post(curator, `/v1/datanets/${gated}/curation`, {
      decisions: [
        { hash: b!.hash, decision: 'reject', reason: 'not from a clinical inbox' },
        { hash: copy.hash, decision: 'approve', reason: 'trying to launder a copy' },
      ],
    });
    await dev.closeDatanet(gated);
    // requireApproval: scored and passing, but undecided, so the build waits for a curator.
    await eventually(async () => ((await status(gated, c!.hash)) === 'accepted' ? true : undefined), 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await app.sql`select 1 from dataset_versions where datanet_id = ${gated}`).toHaveLength(0);
    await post(curator, `/v1/datanets/${gated}/curation`, {
      decisions: [{ hash: c!.hash, decision: 'approve', reason: 'fine' }],
    });
    const v1 = await eventually(
      async () =>
        (
          await dev.get<{ versions: { version: number; merkleRoot: string; records: number }[] }>(
            `/v1/datanets/${gated}/versions`,
          )
        ).versions[0],
      60_000,
    );
    expect(await status(gated, a!.hash)).toBe('accepted');
    expect(await status(gated, b!.hash)).toBe('curator-rejected');
    expect(await status(gated, copy.hash)).toBe('near-duplicate');
    expect(v1.merkleRoot).toBe(buildMerkleTree([a!.hash, c!.hash]).root);
    expect(v1.records).toBe(2);

    expect(await settlements(gated, a!.hash)).toEqual([{ to_account: clinician.address, amount: DEPOSIT }]);
    expect(await settlements(gated, b!.hash)).toEqual([{ to_account: 'treasury', amount: DEPOSIT }]);
    expect(await settlements(gated, copy.hash)).toEqual([{ to_account: 'treasury', amount: DEPOSIT }]);
    expect(await app.ledger.balance(accountsOf.datanetDeposits(gated), 'OPEN')).toBe('0');

    const view = await dev.get<{
      records: { hash: string; status: string; decisionReason: string | null; depositOutcome: string }[];
    }>(`/v1/datanets/${gated}/contributors/${clinician.address}/records`);
    expect(view.records.find((r) => r.hash === b!.hash)).toMatchObject({
      status: 'curator-rejected',
      decisionReason: 'not from a clinical inbox',
      depositOutcome: 'forfeited',
    });
    const board_ = await dev.get<{ leaderboard: { contributor: string; acceptanceRate: number }[] }>(
      `/v1/datanets/${gated}/leaderboard`,
    );
    expect(board_.leaderboard[0]).toMatchObject({ contributor: clinician.address });
    expect(board_.leaderboard.find((r) => r.contributor === copier.address)?.acceptanceRate).toBe(0);
  });

  it('makes a new version per change of the accepted set; replayed approvals change nothing and move nothing', async () => {
    const [a, b] = records;
    const versions = async () =>
      (await dev.get<{ versions: { version: number; merkleRoot: string }[] }>(`/v1/datanets/${gated}/versions`))
        .versions;
    const transfers = async () => (await app.sql`select count(*)::int as n from transfers`)[0]?.n as number;
    const n0 = (await versions()).length;
    const reject = { decisions: [{ hash: a!.hash, decision: 'reject', reason: 'duplicate patient data' }] };
    const r = await post<{ version: { version: number; merkleRoot: string } | null }>(
      curator,
      `/v1/datanets/${gated}/curation`,
      reject,
    );
    expect(r.version?.version).toBe(n0 + 1);
    expect(r.version?.merkleRoot).toBe(buildMerkleTree([records[2]!.hash]).root);
    const t0 = await transfers();
    // The same decision again (a fresh signature): idempotent.
    const again = await post<{ changed: number; version: unknown }>(curator, `/v1/datanets/${gated}/curation`, reject);
    expect(again).toMatchObject({ changed: 0, version: null });
    // The very same signed request replayed: refused by the replay guard.
    const body = JSON.stringify(reject);
    const path = `/v1/datanets/${gated}/curation`;
    const headers = {
      'content-type': 'application/json',
      ...signRequest({ deploymentId: await deploymentIdOf(app.url), method: 'POST', path, body, keys: curator.keys! }),
    };
    expect((await fetch(app.url + path, { method: 'POST', headers, body })).status).toBe(200);
    expect((await fetch(app.url + path, { method: 'POST', headers, body })).status).toBe(401);
    expect((await versions()).length).toBe(n0 + 1);
    expect(await transfers()).toBe(t0);
    // The reversal does not settle a deposit twice: the accepted record was refunded at the build.
    expect(await settlements(gated, a!.hash)).toHaveLength(1);
    expect(await settlements(gated, b!.hash)).toHaveLength(1);
    // Each version's root is its own, and the proof route serves the newest.
    const vs = await versions();
    expect(new Set(vs.map((v) => v.merkleRoot)).size).toBe(vs.length);
    const proof = await dev.get<{ root: string }>(`/v1/contributions/${records[2]!.hash}/proof`);
    expect(proof.root).toBe(vs.at(-1)!.merkleRoot);
  });

  it('splitting records across k accounts never earns more than one account, through scoring and the payout', async () => {
    const k = 5;
    const mine = Array.from({ length: 10 }, take);
    const theirs = Array.from({ length: 4 }, take);
    const other = await participant(app.url, ['contributor'], { OPEN: '1000' });
    const one = await participant(app.url, ['contributor'], { OPEN: '1000' });
    const many = await Promise.all(
      Array.from({ length: k }, () => participant(app.url, ['contributor'], { OPEN: '1000' })),
    );
    const solo = uniqueId('solo');
    const split = uniqueId('split');
    // The reward pool is paid from each proposal's budget, reserved from the treasury when it passes.
    const pool = '50000';
    await dev.post('/v1/faucet', { address: 'treasury', asset: 'OPEN', amount: '200000' });
    await open(solo, { deposit: DEPOSIT }, {}, pool);
    await open(split, { deposit: DEPOSIT }, {}, pool);
    for (const r of mine) await one.contribute(solo, r);
    for (const [i, r] of mine.entries()) await many[i % k]!.contribute(split, r);
    for (const id of [solo, split]) for (const r of theirs) await other.contribute(id, r);
    for (const id of [solo, split]) await dev.closeDatanet(id);
    const versionOf = (id: string) =>
      eventually(
        async () => (await dev.get<{ versions: { id: string }[] }>(`/v1/datanets/${id}/versions`)).versions[0],
        60_000,
      );
    const [vSolo, vSplit] = await Promise.all([versionOf(solo), versionOf(split)]);
    // The real payout: the deployment activity that splits a reward pool by attribution weight.
    const deploy = createDeploymentActivities({ sql: app.sql, store: app.store, ledger: app.ledger });
    await deploy.settleRewards({ proposalId: solo, modelName: `m-${solo}`, datasetVersionId: vSolo.id, amount: pool });
    await deploy.settleRewards({
      proposalId: split,
      modelName: `m-${split}`,
      datasetVersionId: vSplit.id,
      amount: pool,
    });
    const paid = async (id: string, who: string[]) =>
      (
        await app.sql<{ s: string | null }[]>`
          select sum(amount)::text as s from transfers where proposal_id = ${id} and reason like 'data contribution reward%' and to_account = any(${who}::text[])`
      )[0]?.s ?? '0';
    const single = BigInt(await paid(solo, [one.address]));
    const splitTotal = BigInt(
      await paid(
        split,
        many.map((m) => m.address),
      ),
    );
    expect(single).toBeGreaterThan(0n);
    // Largest-remainder rounding may hand each of the k accounts at most one base unit more.
    expect(splitTotal).toBeLessThanOrEqual(single + BigInt(k - 1));
    expect(splitTotal).toBeGreaterThanOrEqual(single - BigInt(k));
    // Deposits: the same total either way, all refunded for accepted records.
    const deposited = async (id: string) =>
      (
        await app.sql<
          { s: string }[]
        >`select coalesce(sum(amount), 0)::text as s from transfers where idempotency_key like ${`deposit:${id}:%`} and idempotency_key not like '%:settle'`
      )[0]?.s;
    expect(await deposited(solo)).toBe(await deposited(split));
  });

  it('leaves the ledger balanced after every attack', async () => {
    const inv = await app.ledger.checkInvariants();
    expect(inv.problems).toEqual([]);
  });
});
