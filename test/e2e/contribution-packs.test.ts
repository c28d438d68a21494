import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyInclusion } from '../support/merkle.js';
import { startTestApp, eventually, refusal, type TestApp } from '../support/app.js';
import { participant, passAndOpenDatanet, proposalBody, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { EMAIL_KEYWORDS } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { contentHash } from '../../domain/data/content-hash.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { dataKeys } from '../../storage/keys.js';

/**
 * Records are stored as pack objects (one per ingest request) and stay addressable by hash: the
 * payload route serves each record's exact bytes, scoring reads them from the packs, and the
 * Merkle proofs verify.
 */
describe('contribution packs', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let alice: CommonsClient;
  let bob: CommonsClient;
  const id = uniqueId('packs');
  const corpus = loadSpamAssassin({ limit: 120, seed: 8 }).map((c) => ({ text: c.text, label: c.label }));

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    [alice, bob] = await Promise.all([participant(app.url, ['contributor']), participant(app.url, ['contributor'])]);
    await dev.propose(
      proposalBody(id, {
        governance: { votingPeriodMs: 60_000 },
        collection: {
          windowMs: 600_000,
          targetCount: 100_000,
          pollIntervalMs: 300,
          batchSize: 25,
          parallelism: 2,
          batchesPerRun: 4,
          minAcceptedRecords: 1,
          keywords: EMAIL_KEYWORDS,
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

  it('writes one pack object per request and serves each record by hash', async () => {
    const a = await alice.contributeBatch(id, corpus.slice(0, 60));
    const b = await bob.contributeBatch(id, corpus.slice(60, 120));
    expect(a.stored + b.stored).toBe(120);
    const packs = await app.store.list(`datanets/${id}/packs/`);
    expect(packs).toHaveLength(2);
    const rows = await app.sql<
      { s3_key: string; n: number }[]
    >`select s3_key, count(*)::int as n from contributions where datanet_id = ${id} group by s3_key order by n`;
    expect(rows.map((r) => r.n)).toEqual([60, 60]);
    for (const p of packs) {
      // The pack is named by the SHA-256 of its bytes.
      const bytes = await app.store.get(p.key);
      expect(p.key).toBe(dataKeys.pack(id, createHash('sha256').update(bytes).digest('hex')));
    }
    // Each record read by its contributor: nobody else may read a record not yet accepted.
    for (const [rec, by] of [
      [corpus[1]!, alice],
      [corpus[77]!, bob],
    ] as const) {
      const got = await by.contributionPayload(contentHash(rec).hash);
      expect(got).toEqual({ hash: contentHash(rec).hash, datanetId: id, payload: rec });
    }
    expect((await refusal(alice.contributionPayload('0'.repeat(64)))).status).toBe(404);
  });

  it('reads every packed record in scoring, and proves the accepted ones against the dataset root', async () => {
    const { hash } = contentHash(corpus[0]!);

    await dev.closeDatanet(id);
    await eventually(async () => ((await dev.proposal(id)).stage !== 'data-collection' ? true : undefined), 300_000);
    const [dv] = await app.sql<
      { merkle_root: string; record_count: number }[]
    >`select merkle_root, record_count from dataset_versions where datanet_id = ${id}`;
    if (!dv) throw new Error('no dataset version');
    const statuses = await app.sql<
      { hash: string; status: string; reasons: string[] | null }[]
    >`select hash, status, reasons from contributions where datanet_id = ${id}`;
    expect(statuses).toHaveLength(120);
    // Every record was read and checked: none failed on its bytes.
    expect(statuses.filter((s) => s.reasons?.some((r) => /content hash|not found/.test(r)))).toEqual([]);
    const accepted = statuses.filter((s) => s.status === 'accepted').map((s) => s.hash);
    expect(dv.record_count).toBe(accepted.length);
    expect(accepted).toContain(hash);
    for (const leaf of [hash, accepted.find((h) => h !== hash)!]) {
      const proof = await bob.proof(leaf);
      expect(proof.root).toBe(dv.merkle_root);
      expect(verifyInclusion(leaf, proof.proof.siblings, dv.merkle_root)).toBe(true);
    }
  }, 400_000);
});
