import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  externalGenerationModel,
  startTestAppWithUpstream,
  type ExternalGenerationModel,
  type UpstreamTestApp,
} from '../support/upstream.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import type { lifecycleWorkflow } from '../../workflows/index.js';
import { parseManifest } from '../../ml/embedded/embedded-trainer.js';
import { attributeSpans, loadSpanIndex } from '../../ml/spans/index.js';
import { spanModeLine } from '../support/span-attribution.js';

/**
 * An external generation model's whole path on the real stack: trained by an external trainer
 * process (the stand-in trainer, through the worker's protocol), promoted, and served by an
 * OpenAI-compatible upstream (the generating stand-in) behind the Commons API, answering the
 * official `openai` client with generated text, attributed and paid.
 */
describe('external generation model served by the upstream (stand-in trainer and upstream)', () => {
  let app: UpstreamTestApp;
  let model: ExternalGenerationModel;

  beforeAll(async () => {
    app = await startTestAppWithUpstream();
    model = await externalGenerationModel(app);
  }, 600_000);

  afterAll(async () => {
    await app?.close();
  });

  it('was trained by the external trainer and promoted as a tar adapter', async () => {
    const res = await app.temporal.workflow
      .getHandle<typeof lifecycleWorkflow>(workflowIds.lifecycle(model.proposalId))
      .result();
    expect(res.status).toBe('serving');
    expect(res.training.artifactKey).toMatch(/model\.tar$/);
    expect(res.training.metrics?.accuracy).toBeGreaterThan(0.3);
    const [run] = await app.sql<
      { trainer: string }[]
    >`select trainer from training_runs where proposal_id = ${model.proposalId}`;
    expect(run?.trainer).toBe('external');
  });

  it('answers the openai client through the upstream: generated text, the model’s token usage, attribution and a fee', async () => {
    const { completion, streamed } = model.scenario;
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(10);
    expect(completion.commons.attribution.contributors.length).toBeGreaterThan(0);
    expect(BigInt(completion.commons.fee)).toBeGreaterThan(0n);
    expect(streamed.text.length).toBeGreaterThan(10);
    // The adapter is loaded on the upstream under the version's name.
    const openai = new OpenAI({ baseURL: `${app.upstream.url}/v1`, apiKey: 'unused' });
    const served = await openai.models.list();
    expect(served.data.map((m) => m.id)).toContain(`${model.modelName}@v${completion.commons.version}`);
  });

  it('attributes a generated answer by the spans it shares with the training records, built beside the adapter', async () => {
    const { completion } = model.scenario;
    const answer = completion.choices[0]?.message.content ?? '';
    const index = await loadSpanIndex(app.store, `models/${model.modelName}/${completion.commons.version}/model.bin`);
    if (!index) throw new Error('the promoted adapter has no span index');
    // The stand-in upstream generates from a trigram model of the training responses, so its
    // answer quotes them: the records served are the ones span matching names.
    const expected = attributeSpans(index, [answer], 5);
    if (!expected) throw new Error(`no span of "${answer}" qualifies`);
    expect(completion.commons.attribution.records.map((x) => x.hash)).toEqual(
      expected.attribution.records.map((x) => x.hash),
    );
    // Each record named holds a span of the answer (at least 6 words) verbatim.
    const [dv] = await app.sql<
      { manifest_key: string }[]
    >`select manifest_key from dataset_versions where proposal_id = ${model.proposalId}`;
    const byHash = new Map(parseManifest(await app.store.get(dv!.manifest_key)).map((m) => [m.hash, m]));
    const words = (t: string) =>
      t
        .toLowerCase()
        .split(/[^\p{L}\p{N}]+/u)
        .filter(Boolean);
    const answerWords = words(answer);
    const top = completion.commons.attribution.records[0]!;
    const record = byHash.get(top.hash)!;
    const text = ` ${words(`${record.text} ${record.response ?? ''}`).join(' ')} `;
    const quoted = answerWords.some(
      (_, i) => i + 6 <= answerWords.length && text.includes(` ${answerWords.slice(i, i + 6).join(' ')} `),
    );
    expect(quoted).toBe(true);
    expect(await spanModeLine(app.url, model.modelName)).toContain('mode="spans"');
  });
});
