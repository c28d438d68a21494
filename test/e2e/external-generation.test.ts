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
});
