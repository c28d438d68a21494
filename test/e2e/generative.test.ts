import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, at, type TestApp } from '../support/app.js';
import { runGenerativeScenario, type GenerativeScenarioResult } from '../../scenarios/generative-scenario.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { parseManifest } from '../../ml/embedded/embedded-trainer.js';
import { deserializeRag, isRagArtifact } from '../../ml/generative/rag-model.js';
import { verifyProof } from '../../domain/data/merkle.js';
import type { lifecycleWorkflow } from '../../workflows/index.js';
import type { CommonsExtension } from '../../api/schemas/openai.js';
import { attributeSpans, loadSpanIndex } from '../../ml/spans/index.js';
import { spanModeLine } from '../support/span-attribution.js';

/**
 * A generative model's whole lifecycle on the real stack: a generation proposal with a chat
 * Datanet, scoring and a dataset version with responses, the embedded RAG model trained on
 * gpu-training, a pairwise review round on gpu-rlhf that updates the ranker, promotion, and paid,
 * attributed chat completions through the official `openai` client (JSON and streaming).
 */
describe('generative lifecycle (RAG model, pairwise reviews, OpenAI-compatible API)', () => {
  let app: TestApp;
  let r: GenerativeScenarioResult;
  const id = `gen-${Date.now().toString(36)}`;
  const modelName = `m-${id}`;

  beforeAll(async () => {
    app = await startTestApp();
    r = await runGenerativeScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: id,
      modelName,
      perTopic: 14,
      contributors: 3,
      pollMs: 300,
      params: { stake: '500' },
    });
  }, 600_000);

  afterAll(async () => {
    await app?.close();
  });

  const result = () => app.temporal.workflow.getHandle<typeof lifecycleWorkflow>(workflowIds.lifecycle(id)).result();

  it('collected chat records into a dataset version whose manifest carries prompts and responses', async () => {
    const [dv] = await app.sql<
      { manifest_key: string; merkle_root: string; record_count: number }[]
    >`select manifest_key, merkle_root, record_count from dataset_versions where proposal_id = ${id}`;
    if (!dv) throw new Error('no dataset version');
    const manifest = parseManifest(await app.store.get(dv.manifest_key));
    expect(manifest.length).toBe(dv.record_count);
    expect(manifest.length).toBeGreaterThan(60);
    const questions = new Set(r.corpus.map((x) => x.question));
    const answers = new Set(r.corpus.map((x) => x.answer));
    for (const m of manifest) {
      expect(questions.has(m.text)).toBe(true); // the prompt: the chat without the assistant's reply
      expect(answers.has(m.response ?? '')).toBe(true);
    }
    // Merkle inclusion proof of a generation record, and attribution weights per contributor.
    const record = at(manifest, 0, 'manifest record');
    const proof = await r.developer.proof(record.hash);
    expect(proof.root).toBe(dv.merkle_root);
    expect(verifyProof(proof.proof, dv.merkle_root)).toBe(true);
    const weights =
      await app.sql`select contributor, weight from attribution_weights where dataset_version_id = ${`${id}-v1`} and weight > 0`;
    expect(weights.length).toBe(3);
  });

  it('trained the RAG model and ran a pairwise review round whose update is kept or discarded by the held-out token-F1', async () => {
    const res = await result();
    expect(res.status).toBe('serving');
    const trained = res.training.metrics;
    if (!trained) throw new Error('no training metrics');
    expect(trained.accuracy).toBeGreaterThan(0.3);
    expect(isRagArtifact(await app.store.get(res.training.artifactKey!))).toBe(true);
    const tasks = await app.sql<
      { candidates: string[]; consensus: string | null }[]
    >`select candidates, consensus from review_tasks where proposal_id = ${id}`;
    expect(tasks.length).toBeGreaterThan(0);
    for (const t of tasks) {
      expect(t.candidates).toHaveLength(2); // two answers per prompt
      expect(t.candidates[0]).not.toBe(t.candidates[1]);
    }
    const round = at(res.rlhf.rounds, 0, 'round');
    expect(round.answers).toBeGreaterThan(0);
    // The preference update produced a candidate with a moved ranker, evaluated on the held-out
    // answers; the keep/discard rule (maxEvalDrop 0) decided on its token-F1, so the kept
    // model's token-F1 never fell below the trained one.
    const [row] = await app.sql<
      { summary: { applied: boolean; candidate: { artifactKey: string; metrics: { accuracy: number } } } }[]
    >`select summary from rlhf_rounds where proposal_id = ${id} and round = 1`;
    const candidate = row?.summary.candidate;
    if (!candidate) throw new Error('the round recorded no candidate');
    expect(candidate.artifactKey).not.toBe(res.training.artifactKey);
    const [before, after] = await Promise.all([
      app.store.get(res.training.artifactKey!).then(deserializeRag),
      app.store.get(candidate.artifactKey).then(deserializeRag),
    ]);
    expect([...after.bias].some((b, i) => b !== before.bias[i])).toBe(true);
    expect(round.applied).toBe(candidate.metrics.accuracy >= trained.accuracy);
    expect(round.metrics.accuracy).toBeGreaterThanOrEqual(trained.accuracy);
  });

  it('recorded the trainer kind and task in the promoted version, which serving uses to pick the RAG predictor', async () => {
    const [v] = await app.sql<
      { lineage: { trainer?: string; task?: string } }[]
    >`select lineage from model_versions where model_name = ${modelName}`;
    expect(v?.lineage.trainer).toBe('embedded');
    expect(v?.lineage.task).toBe('generation');
    const [run] = await app.sql<{ trainer: string }[]>`select trainer from training_runs where proposal_id = ${id}`;
    expect(run?.trainer).toBe('embedded');
  });

  it('answered through the openai client with a contributed answer, attributed to the records it used', async () => {
    const c = r.completion;
    const answer = c.choices[0]?.message.content ?? '';
    expect(r.corpus.some((x) => x.answer === answer)).toBe(true);
    expect(answer.toLowerCase()).toMatch(/ankle|ice|elevate|sprain|weight/);
    expect(c.commons.fee).toBe('10');
    const used = at(c.commons.attribution.records, 0, 'attributed record');
    const [row] = await app.sql<
      { status: string; contributor: string }[]
    >`select status, contributor from contributions where hash = ${used.hash} and datanet_id = ${id}`;
    expect(row?.status).toBe('accepted');
    expect(row?.contributor).toBe(used.contributor);
    const [call] = await app.sql<
      { fee: string; payer: string }[]
    >`select fee::text, payer from inference_calls where id = ${c.commons.callId}`;
    expect(call?.fee).toBe('10');
    expect(call?.payer).toBe(r.appBuilder.address);
    // The attributed contributors were paid their share of this call.
    const paidTo = await app.sql<
      { to_account: string }[]
    >`select distinct to_account from transfers where from_account = ${r.appBuilder.address} and reason = 'inference fee (contributors)'`;
    expect(paidTo.map((x) => x.to_account)).toContain(used.contributor);
  });

  it('attributed the answer by the spans it shares with its training records (span index promoted with the model)', async () => {
    const c = r.completion;
    const answer = c.choices[0]?.message.content ?? '';
    const key = `models/${modelName}/${c.commons.version}/model.bin`;
    const index = await loadSpanIndex(app.store, key);
    if (!index) throw new Error(`no span index beside ${key}`);
    const manifest = JSON.parse(
      (await app.store.get(`models/${modelName}/${c.commons.version}/manifest.json`)).toString(),
    ) as {
      spanIndex?: { sha256: string; records: number };
    };
    expect(manifest.spanIndex?.records).toBe(index.header.records);
    // The planted source: the answer is a contributed response, and the heaviest record named holds it.
    const [dv] = await app.sql<
      { manifest_key: string }[]
    >`select manifest_key from dataset_versions where proposal_id = ${id}`;
    const sources = new Set(
      parseManifest(await app.store.get(dv!.manifest_key))
        .filter((m) => m.response === answer)
        .map((m) => m.hash),
    );
    expect(sources.has(at(c.commons.attribution.records, 0, 'attributed record').hash)).toBe(true);
    // What was served is span matching over the promoted index, not the retrieval fallback.
    const expected = attributeSpans(index, [answer], 5);
    expect(expected).toBeDefined();
    expect(c.commons.attribution.records.map((x) => x.hash)).toEqual(expected!.attribution.records.map((x) => x.hash));
    expect(await spanModeLine(app.url, modelName)).toContain('mode="spans"');
  });

  it('streamed a completion as server-sent events, with the Commons extension on the final chunk', () => {
    expect(r.streamed.chunks).toBeGreaterThan(2);
    expect(r.corpus.some((x) => x.answer === r.streamed.text)).toBe(true);
    expect(r.streamed.commons?.fee).toBe('10');
    expect(r.streamed.commons?.attribution.contributors.length).toBeGreaterThan(0);
  });

  it('lists the model on GET /v1/models and returns the attribution in headers', async () => {
    const openai = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: r.apiKey });
    const ids: string[] = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    expect(ids).toContain(modelName);
    const { data, response } = await openai.chat.completions
      .create({ model: `${modelName}@1`, messages: [{ role: 'user', content: 'What helps with seasonal allergies?' }] })
      .withResponse();
    const ext = (data as unknown as { commons: CommonsExtension }).commons;
    expect(response.headers.get('x-commons-receipt')).toBe(ext.receipt);
    expect(ext.receipt).toBe(ext.callId);
    expect(response.headers.get('x-commons-fee')).toBe('10');
    expect(response.headers.get('x-commons-attribution')).toContain(at(ext.attribution.contributors, 0).contributor);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });

  it('refuses bad requests with a clear 4xx: no key, unknown model, no user message', async () => {
    const noKey = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'ck_not_a_key', maxRetries: 0 });
    await expect(
      noKey.chat.completions.create({ model: modelName, messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 401 });
    const openai = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: r.apiKey, maxRetries: 0 });
    await expect(
      openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 404 });
    await expect(
      openai.chat.completions.create({ model: modelName, messages: [{ role: 'system', content: 'be brief' }] }),
    ).rejects.toMatchObject({ status: 400 });
  });
});
