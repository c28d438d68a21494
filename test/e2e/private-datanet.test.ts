import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { verifyInclusion } from '../support/merkle.js';
import { runScenario, SPAM_SPEC, type ScenarioResult } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import type { lifecycleWorkflow } from '../../workflows/index.js';

/**
 * Compute-to-data: one lifecycle on a PRIVATE Datanet, from the proposal to paid, attributed calls.
 * Contributors' clients seal every record; only the data-collection and training workers open
 * them. Afterwards nothing this lifecycle wrote to S3 (packs, part files, manifests, the held-out
 * set, the model and its attribution index) holds a planted canary or any record's text, the access
 * log holds the workers' reads with their purposes, and a paid answer quotes nothing and names its
 * records by hash.
 */
describe('a lifecycle on a private Datanet runs to serving without record text leaving the workers', () => {
  let app: TestApp;
  let r: ScenarioResult;
  const id = `priv-${Date.now().toString(36)}`;
  const modelName = `private-spam-${id}`;
  const canary = `CANARY${randomBytes(8).toString('hex')}`;
  // Every fifth mail carries the canary, as a word of its own (so scoring still reads the mail).
  const corpus = loadSpamAssassin({ limit: 240, seed: 21 }).map((m, i) =>
    i % 5 === 0 ? { ...m, text: `${m.text}\n${canary}` } : m,
  );
  // Long runs of record text, each found in one mail only: none may appear in any object.
  const snippets = corpus
    .map((m) => m.text.replace(/\s+/g, ' ').trim())
    .filter((t) => t.length > 120)
    .slice(0, 40)
    .map((t) => t.slice(40, 100));

  beforeAll(async () => {
    app = await startTestApp();
    r = await runScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: id,
      modelName,
      records: corpus.length,
      corpus,
      contributors: 3,
      pollMs: 300,
      datanetSpec: { ...SPAM_SPEC, visibility: 'private' as const },
      params: {
        stake: '1000',
        // A review item would show held-out records to reviewers: a private Datanet has none.
        rlhf: { rounds: 0 },
        deployment: { minAccuracy: 0.6, minMacroF1: 0.5 },
        serving: { feePerCall: '100', rewardPool: '1000' },
      },
    });
  }, 600_000);

  afterAll(async () => {
    await app?.close();
  });

  it('ran every stage to serving, scoring, deduplicating and training on the opened records', async () => {
    const result = await app.temporal.workflow.getHandle<typeof lifecycleWorkflow>(workflowIds.lifecycle(id)).result();
    expect(result.status).toBe('serving');
    const [nc] = await app.sql`select status, duplicate_of from contributions where hash = ${r.nearCopy.hash}`;
    expect(nc).toEqual({ status: 'near-duplicate', duplicate_of: r.nearCopy.of });
    const [off] = await app.sql`select status from contributions where hash = ${r.offTopic.hash}`;
    expect(off?.status).toBe('rejected');
    const [dv] = await app.sql<
      { record_count: number }[]
    >`select record_count from dataset_versions where datanet_id = ${id}`;
    expect(dv?.record_count).toBeGreaterThan(150);
    // No plaintext column holds a private record's label.
    const labelled = await app.sql`select 1 from contributions where datanet_id = ${id} and label is not null`;
    expect(labelled).toHaveLength(0);
  });

  it('left no canary and no record text in any object the lifecycle wrote to S3', async () => {
    const ours = (await app.store.list('')).filter(
      (o) =>
        o.key.startsWith(`datanets/${id}/`) ||
        o.key.startsWith(`staging/${id}/`) ||
        o.key.startsWith(`models/${modelName}/`),
    );
    const kinds = (re: RegExp) => ours.filter((o) => re.test(o.key)).length;
    expect(kinds(/\/packs\//)).toBeGreaterThan(0);
    expect(kinds(/\/parts\//)).toBeGreaterThan(0);
    expect(kinds(/\/datasets\/v1\/manifest\.jsonl$/)).toBe(1);
    expect(kinds(/eval\.jsonl$/)).toBe(1);
    expect(kinds(/^models\/.*model\.bin$/)).toBe(1);
    expect(kinds(/attribution\/ann\.usearch$/)).toBeGreaterThan(0);
    for (const o of ours) {
      const bytes = await app.store.get(o.key);
      // UTF-8 and Latin-1 views: a text in either encoding would show.
      for (const view of [bytes.toString('utf8'), bytes.toString('latin1')]) {
        expect(view.includes(canary), `${o.key} holds the canary`).toBe(false);
        for (const s of snippets) expect(view.includes(s), `${o.key} holds record text "${s}"`).toBe(false);
      }
    }
  });

  it('logged every worker read with its purpose: scoring and training', async () => {
    const rows = await app.sql<{ purpose: string; actor: string; n: number }[]>`
      select purpose, actor, count(*)::int as n from record_access_log where datanet_id = ${id}
      group by purpose, actor order by purpose`;
    const purposes = new Map(rows.map((x) => [x.purpose, x]));
    const [stored] = await app.sql<
      { n: number }[]
    >`select count(*)::int as n from contributions where datanet_id = ${id}`;
    const [accepted] = await app.sql<
      { n: number }[]
    >`select count(*)::int as n from contributions where datanet_id = ${id} and status = 'accepted'`;
    expect(purposes.get('scoring')?.n).toBe(stored?.n);
    expect(purposes.get('scoring')?.actor).toMatch(/^worker:/);
    // Training opened the dataset version (every accepted record) and the held-out set again.
    expect(purposes.get('training')?.n).toBeGreaterThanOrEqual(accepted?.n ?? Infinity);
    expect(purposes.get('training')?.actor).toMatch(/^worker:/);
    // Building the dataset version copied sealed lines: it opened nothing.
    expect(purposes.has('dataset-version')).toBe(false);
  });

  it('answers paid calls without record text, attributed to records by hash, and proves them by hash', async () => {
    const sample = corpus.find((m) => m.label === 'spam' && m.text.includes(canary)) ?? corpus[0]!;
    const answer = await r.appBuilder.infer(modelName, sample.text.slice(0, 400), r.apiKey);
    expect(['spam', 'ham']).toContain(answer.output);
    const body = JSON.stringify(answer);
    expect(body).not.toContain(canary);
    for (const s of snippets) expect(body).not.toContain(s);
    const submitted = new Map(r.submitted.map((x) => [x.hash, x.contributor]));
    expect(answer.attribution.records.length).toBeGreaterThan(0);
    for (const rec of answer.attribution.records) {
      expect(rec.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(submitted.get(rec.hash)).toBe(rec.contributor);
    }
    const [call] = await eventually(async () => {
      const rows = await app.sql<
        { settlement_id: string }[]
      >`select settlement_id from inference_calls where id = ${answer.callId}`;
      return rows.length ? rows : undefined;
    });
    const paid = await app.sql<
      { amount: string }[]
    >`select amount from transfers where memo->>'settlement' = ${call!.settlement_id}`;
    expect(paid.reduce((s, x) => s + BigInt(x.amount), 0n)).toBe(100n);
    const top = answer.attribution.records[0]!;
    const p = await r.developer.proof(top.hash);
    expect(verifyInclusion(top.hash, p.proof.siblings, p.root)).toBe(true);
  });
});
