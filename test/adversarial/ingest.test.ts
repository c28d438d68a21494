import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, refusal, type TestApp } from '../support/app.js';
import { participant, passAndOpenDatanet, proposalBody, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { EMAIL_KEYWORDS } from '../../scenarios/scenario.js';
import { contentHash } from '../../domain/data/content-hash.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { startTsProcess } from '../../infra/local/processes.js';
import { freePort } from '../../infra/local/ports.js';
import { syntheticRecords } from '../../scenarios/synthetic.js';

/**
 * Attacks on "each record is stored once, credited to one account, and only ever served or scored
 * as the bytes its hash names": an API SIGKILLed while batches are being written and the batches
 * retried, two accounts racing to submit the same record, and a pack object whose bytes no longer
 * match the hashes it is indexed under.
 */
describe('adversarial: ingest', () => {
  let app: TestApp;
  let dev: CommonsClient;
  const id = uniqueId('ingest-attack');
  const records = [...syntheticRecords(1_600, 31)]
    .filter((r) => r.kind === 'unique')
    .map((r) => ({ text: r.text, label: r.label }));

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    await dev.propose(
      proposalBody(id, {
        governance: { votingPeriodMs: 60_000 },
        collection: {
          windowMs: 600_000,
          targetCount: 100_000,
          pollIntervalMs: 300,
          batchSize: 500,
          parallelism: 2,
          minAcceptedRecords: 1,
          keywords: ['spam', 'email', 'offer', 'meeting', 'project', ...EMAIL_KEYWORDS],
        },
        training: { hyperparams: { epochs: 1 } },
      }),
    );
    await passAndOpenDatanet(dev, gov, id);
  }, 300_000);

  afterAll(async () => {
    await app.temporal.workflow
      .getHandle(workflowIds.lifecycle(id))
      .cancel()
      .catch(() => undefined);
    await app?.close();
  });

  /** Every record held in the Datanet's pack objects, by hash, with how many times it occurs. */
  async function recordsInPacks(): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    for (const o of await app.store.list(`datanets/${id}/packs/`)) {
      const lines = (await app.store.get(o.key)).toString('utf8').split('\n').filter(Boolean);
      for (const l of lines) {
        const h = contentHash(JSON.parse(l)).hash;
        seen.set(h, (seen.get(h) ?? 0) + 1);
      }
    }
    return seen;
  }

  it('stores each record of batches retried after an API SIGKILL exactly once, in exactly one pack', async () => {
    const port = await freePort();
    const env = { ...process.env, API_PORT: String(port), COMMONS_LOG_LEVEL: 'error' };
    let child: ChildProcess = await startTsProcess('api/main.ts', env, /listening/i);
    const url = `http://127.0.0.1:${port}`;
    const contributor = await participant(url, ['contributor']);
    const batches = Array.from({ length: 10 }, (_, i) => records.slice(i * 100, (i + 1) * 100));
    const answered = new Set<number>();
    // Four batches in flight; the API dies under them.
    const first = Promise.allSettled(
      batches.map(async (b, i) => {
        await new Promise((r) => setTimeout(r, (i % 4) * 5));
        await contributor.contributeBatch(id, b);
        answered.add(i);
      }),
    );
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGKILL');
    await first;
    child = await startTsProcess('api/main.ts', env, /listening/i);
    try {
      // The client retries every batch (a fresh signature each time; the same records).
      const again = await Promise.all(batches.map((b) => contributor.contributeBatch(id, b)));
      for (const [i, r] of again.entries()) {
        for (const x of r.results) expect(['stored', 'already-stored']).toContain(x.status);
        // A batch answered before the kill was stored then: its retry stores nothing new.
        if (answered.has(i)) expect(r.stored).toBe(0);
      }
    } finally {
      child.kill('SIGTERM');
    }
    const hashes = batches.flat().map((r) => contentHash(r).hash);
    const rows = await app.sql<
      { hash: string; contributor: string }[]
    >`select hash, contributor from contributions where datanet_id = ${id} and hash = any(${hashes}::text[])`;
    expect(rows).toHaveLength(hashes.length);
    expect(new Set(rows.map((r) => r.contributor))).toEqual(new Set([contributor.address]));
    // A retried batch rewrites the same pack (named by its bytes): no record is held twice, no pack is orphaned.
    const inPacks = await recordsInPacks();
    expect([...inPacks.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(inPacks.keys())).toEqual(new Set(hashes));
  }, 300_000);

  it('credits one account when two race to submit the same record', async () => {
    const [alice, bob] = await Promise.all([
      participant(app.url, ['contributor']),
      participant(app.url, ['contributor']),
    ]);
    const singles = records.slice(1_000, 1_010);
    for (const rec of singles) {
      const [a, b] = await Promise.allSettled([alice.contribute(id, rec), bob.contribute(id, rec)]);
      const won = [a, b].filter((x) => x.status === 'fulfilled');
      expect(won).toHaveLength(1);
      const lost = [a, b].find((x) => x.status === 'rejected');
      expect((lost?.reason as { status?: number }).status).toBe(409);
      const [row] = await app.sql<
        { contributor: string }[]
      >`select contributor from contributions where datanet_id = ${id} and hash = ${contentHash(rec).hash}`;
      expect(row?.contributor).toBe(a.status === 'fulfilled' ? alice.address : bob.address);
    }
    // Whole batches overlapping: each record is stored for exactly one of them, the other is told it is a duplicate.
    const shared = records.slice(1_010, 1_060);
    const [ra, rb] = await Promise.all([alice.contributeBatch(id, shared), bob.contributeBatch(id, shared)]);
    const rows = new Map(
      (
        await app.sql<{ hash: string; contributor: string }[]>`select hash, contributor from contributions
          where datanet_id = ${id} and hash = any(${shared.map((r) => contentHash(r).hash)}::text[])`
      ).map((r) => [r.hash, r.contributor]),
    );
    expect(rows.size).toBe(shared.length);
    for (const [i, rec] of shared.entries()) {
      const x = ra.results[i]!;
      const y = rb.results[i]!;
      expect([x.status, y.status].sort()).toEqual(['duplicate', 'stored']);
      expect(rows.get(contentHash(rec).hash)).toBe(x.status === 'stored' ? alice.address : bob.address);
    }
    expect(ra.stored + rb.stored).toBe(shared.length);
  }, 300_000);

  it('refuses to serve or score a record whose pack bytes no longer match its hash', async () => {
    const mallory = await participant(app.url, ['contributor']);
    const batch = records.slice(1_100, 1_110);
    await mallory.contributeBatch(id, batch);
    const victim = contentHash(batch[3]!).hash;
    const [row] = await app.sql<
      { s3_key: string; pack_offset: string; pack_length: number }[]
    >`select s3_key, pack_offset, pack_length from contributions where datanet_id = ${id} and hash = ${victim}`;
    if (!row) throw new Error('the record was not stored');
    // The pack is rewritten with one record's text changed, its length kept (offsets still line up).
    const pack = await app.store.get(row.s3_key);
    const at = Number(row.pack_offset) + pack.subarray(Number(row.pack_offset)).indexOf('"text":"') + 8;
    pack[at] = pack[at] === 0x61 ? 0x62 : 0x61;
    await app.store.put(row.s3_key, pack);

    const served = await refusal(mallory.contributionPayload(victim));
    expect(served.status).toBe(500);
    expect(JSON.stringify(served.body)).toContain('do not match its hash');
    const intact = contentHash(batch[4]!).hash;
    expect((await mallory.contributionPayload(intact)).payload).toEqual(batch[4]);

    await dev.closeDatanet(id);
    await eventually(async () => ((await dev.proposal(id)).stage !== 'data-collection' ? true : undefined), 300_000);
    const [v] = await app.sql<
      { status: string; reasons: string[] }[]
    >`select status, reasons from contributions where datanet_id = ${id} and hash = ${victim}`;
    expect(v?.status).toBe('rejected');
    expect(v?.reasons.join(' ')).toContain('do not match the record content hash');
    expect((await refusal(mallory.proof(victim))).status).toBe(409);
    const [w] = await app.sql<
      { status: string }[]
    >`select status from contributions where datanet_id = ${id} and hash = ${intact}`;
    expect(w?.status).toBe('accepted');
  }, 400_000);
});
