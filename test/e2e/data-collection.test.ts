import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyInclusion } from '../support/merkle.js';
import { startTestApp, eventually, refusal, at, type TestApp } from '../support/app.js';
import { participant, passAndOpenDatanet, proposalBody, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { EMAIL_KEYWORDS } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { contentHash } from '../../domain/data/content-hash.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { findPassProgress } from '../../db/queries/contributions.js';

// Tight limits for this file's API instance (each test file runs in its own process).
process.env.COMMONS_CONTRIBUTION_RATE = '50';
process.env.COMMONS_CONTRIBUTION_BURST = '300';

describe('decentralized data collection', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let alice: CommonsClient;
  let bob: CommonsClient;
  let spammer: CommonsClient;
  const id = uniqueId('datanet');
  const corpus = loadSpamAssassin({ limit: 160, seed: 5 });

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    const gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    [alice, bob, spammer] = await Promise.all([
      participant(app.url, ['contributor']),
      participant(app.url, ['contributor']),
      participant(app.url, ['contributor']),
    ]);
    await dev.propose(
      proposalBody(id, {
        governance: { votingPeriodMs: 60_000 },
        // Small batches and few per run: the scoring fan-out has to continue as new several times.
        collection: {
          windowMs: 600_000,
          targetCount: 100_000,
          pollIntervalMs: 300,
          batchSize: 20,
          parallelism: 2,
          batchesPerRun: 4,
          minAcceptedRecords: 1,
          keywords: EMAIL_KEYWORDS,
        },
        training: { hyperparams: { epochs: 1 } },
      }),
    );
    await passAndOpenDatanet(dev, gov, id, dev.address);
  }, 120_000);

  afterAll(async () => {
    await app.temporal.workflow
      .getHandle(workflowIds.lifecycle(id))
      .cancel()
      .catch(() => undefined);
    await app?.close();
  });

  it('stores a signed record under its SHA-256, idempotently, and refuses bad ones with reasons', async () => {
    const { text, label } = at(corpus, 0);
    const rec = { text, label };
    const first = await alice.contribute(id, rec);
    expect(first.hash).toBe(contentHash(rec).hash);
    expect(first.status).toBe('stored');
    const again = await alice.contribute(id, { label: rec.label, text: rec.text }); // same content, other key order
    expect(again).toEqual({ hash: first.hash, status: 'already-stored' });
    const stolen = await refusal(bob.contribute(id, rec));
    expect(stolen.status).toBe(409);
    const [row] = await app.sql<
      {
        contributor: string;
        size: number;
        s3_key: string;
        pack_offset: string;
        pack_length: number;
        signature: string;
      }[]
    >`select contributor, size, s3_key, pack_offset, pack_length, signature from contributions where hash = ${first.hash}`;
    if (!row) throw new Error(`no row for contribution ${first.hash}`);
    expect(row.contributor).toBe(alice.address);
    // The record's bytes are its slice of the request's pack object.
    const start = Number(row.pack_offset);
    const stored = await app.store.getRange(row.s3_key, start, start + row.pack_length - 1);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(first.hash);
    expect(row.signature.length).toBeGreaterThan(40);

    const bad = await refusal(alice.contribute(id, { text: 'hello there friend', label: 'maybe' }));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('must be one of spam, ham');
    const big = await refusal(alice.contribute(id, { text: 'x '.repeat(20_000), label: 'ham' }));
    expect(big.status).toBe(413);
  });

  it('judges each record of a batch on its own', async () => {
    const [one, two] = [at(corpus, 1), at(corpus, 2)];
    const r = await alice.contributeBatch(id, [
      { text: one.text, label: one.label },
      { text: 'no label here at all' },
      { text: two.text, label: two.label },
    ]);
    expect(r.results.map((x) => x.status)).toEqual(['stored', 'invalid', 'stored']);
    expect(r.results[1]?.errors?.join(' ')).toContain('label');
  });

  it('rate-limits a contributor with 429 and Retry-After', async () => {
    // Records without a label fail the schema, so nothing here enters the dataset; they still
    // count against the limit, which guards the API's work, not only what gets stored.
    const flooder = await participant(app.url, ['contributor']);
    const flood = Array.from({ length: 400 }, (_, i) => ({ text: `flood record number ${i}` }));
    const tooBig = await refusal(flooder.contributeBatch(id, flood));
    expect(tooBig.status).toBe(429);
    expect(JSON.stringify(tooBig.body)).toContain('exceeds the rate-limit burst of 300');
    const burst = await flooder.contributeBatch(id, flood.slice(0, 300));
    expect(burst.results.every((r) => r.status === 'invalid')).toBe(true);
    const limited = await refusal(flooder.contributeBatch(id, flood.slice(300)));
    expect(limited.status).toBe(429);
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(await app.sql`select 1 from contributions where contributor = ${flooder.address}`).toHaveLength(0);
  });

  it('scores, dedupes across accounts and builds a dataset version with a Merkle root and weights', async () => {
    // Alice and Bob share the corpus; Bob also copies one of Alice's mails with two words changed.
    await alice.contributeBatch(
      id,
      corpus.slice(3, 80).map((c) => ({ text: c.text, label: c.label })),
    );
    await bob.contributeBatch(
      id,
      corpus.slice(80, 150).map((c) => ({ text: c.text, label: c.label })),
    );
    const src = corpus.slice(3, 80).find((c) => c.text.split(' ').length > 150);
    if (!src) throw new Error('the corpus slice has no long mail to copy');
    const words = src.text.split(' ');
    words[7] = 'surely';
    words[words.length - 2] = 'cheers';
    const copy = await bob.contribute(id, { text: words.join(' '), label: src.label });
    const offTopic = await spammer.contribute(id, {
      text: 'Preheat the oven, whisk the eggs with sugar and fold in flour; bake the sponge for thirty minutes until golden and let it cool.',
      label: 'ham',
    });
    // The spammer also posts junk the quality check rejects, which lowers its standing.
    for (let i = 0; i < 6; i++)
      await spammer.contribute(id, { text: `${'!!!!'.repeat(10)} ${i} $$$$$$$$ ####`, label: 'spam' });

    await dev.closeDatanet(id);
    await eventually(
      async () => ((await dev.proposal(id)).stage !== 'data-collection' ? true : undefined),
      120_000,
      500,
    );

    const statuses = new Map(
      (
        await app.sql<
          { hash: string; status: string; duplicate_of: string | null; reasons: string[] | null }[]
        >`select hash, status, duplicate_of, reasons from contributions where datanet_id = ${id}`
      ).map((r) => [r.hash, r]),
    );
    expect(statuses.get(copy.hash)?.status).toBe('near-duplicate');
    expect(statuses.get(copy.hash)?.duplicate_of).toBe(contentHash({ text: src.text, label: src.label }).hash);
    expect(statuses.get(offTopic.hash)?.status).toBe('rejected');
    expect(statuses.get(offTopic.hash)?.reasons?.join(' ')).toMatch(/relevance|off-topic/);
    // The passes' per-batch progress rows (what status reads sum while a pass runs) agree with the
    // records' statuses: every record scored once, every passing one deduped once (retries included).
    const n = (...st: string[]) => [...statuses.values()].filter((r) => st.includes(r.status)).length;
    expect(await findPassProgress(app.sql, id)).toEqual({
      received: statuses.size,
      scored: statuses.size,
      scoredPassing: n('accepted', 'near-duplicate', 'duplicate'),
      deduped: n('accepted', 'near-duplicate', 'duplicate'),
      dedupeAccepted: n('accepted'),
    });

    const [dv] = await app.sql<
      { id: string; merkle_root: string; manifest_key: string; record_count: number }[]
    >`select id, merkle_root, manifest_key, record_count from dataset_versions where datanet_id = ${id}`;
    if (!dv) throw new Error(`no dataset version for ${id}`);
    const accepted = (
      await app.sql<{ hash: string }[]>`select hash from contributions where datanet_id = ${id} and status = 'accepted'`
    ).map((r) => r.hash);
    expect(dv.record_count).toBe(accepted.length);
    const manifest = (await app.store.get(dv.manifest_key))
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { hash: string });
    expect(manifest.map((m) => m.hash).sort()).toEqual([...accepted].sort());

    const leaf = at(accepted, 0, 'accepted record');
    const proof = await alice.proof(leaf);
    expect(proof.root).toBe(dv.merkle_root);
    expect(verifyInclusion(leaf, proof.proof.siblings, dv.merkle_root)).toBe(true);
    const refused = await refusal(alice.proof(copy.hash));
    expect(refused.status).toBe(409);

    const weights = new Map(
      (
        await app.sql<
          { contributor: string; weight: number; accepted: number; rejected: number }[]
        >`select contributor, weight, accepted, rejected from attribution_weights where dataset_version_id = ${dv.id}`
      ).map((w) => [w.contributor, w]),
    );
    expect(weights.get(alice.address)?.weight).toBeGreaterThan(0);
    expect(weights.get(bob.address)?.weight).toBeGreaterThan(0);
    expect(weights.get(spammer.address)?.weight ?? 0).toBe(0);
    const total = [...weights.values()].reduce((s, w) => s + w.weight, 0);
    expect(total).toBeCloseTo(1, 6);
  });

  it('kept the collection workflow history small by continuing as new', async () => {
    const runs: number[] = [];
    for await (const w of app.temporal.workflow.list({ query: `WorkflowId = "collection-${id}"` }))
      runs.push(w.historyLength);
    expect(runs.length).toBeGreaterThan(2);
    expect(Math.max(...runs)).toBeLessThan(500);
  });
});
