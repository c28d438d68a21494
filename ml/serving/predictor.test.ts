import { describe, expect, it } from 'vitest';
import { PredictorRegistry, type Prediction, type VersionSource } from './predictor.js';
import { eventsOf } from './events.js';
import { RagModel, serializeRag } from '../generative/rag-model.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';

const src = (over: Partial<VersionSource> = {}): VersionSource => ({
  modelName: 'm',
  version: 1,
  artifactKey: 'a',
  manifestKey: 'k',
  trainer: 'embedded',
  task: 'classification',
  ...over,
});
const noStore = {} as ArtifactStore; // the RAG predictor reads nothing but its artifact

describe('predictor registry (a served version → what answers it)', () => {
  const rag = serializeRag(
    new RagModel([
      { hash: 'h1', contributor: 'alice', prompt: 'How do I treat a burn?', response: 'Cool it under running water.' },
      { hash: 'h2', contributor: 'bob', prompt: 'What helps with heartburn?', response: 'Eat smaller meals.' },
    ]),
  );

  it('recognises embedded RAG artifacts by their bytes and other trainers by `<trainer>-<task>`', () => {
    const r = new PredictorRegistry();
    expect(r.kindFor(src({ trainer: 'embedded', task: 'generation' }), rag)).toBe('embedded-rag');
    expect(r.kindFor(src(), Buffer.from('CMSM-linear-softmax'))).toBe('embedded-classifier');
    expect(r.kindFor(src({ trainer: 'external', task: 'generation' }), Buffer.from('{"lora":1}'))).toBe(
      'external-generation',
    );
  });

  it('answers chat messages with the RAG model and its attribution', async () => {
    const p = await new PredictorRegistry().load(src(), rag, noStore);
    expect(p.kind).toBe('embedded-rag');
    const out = await p.predict({ messages: [{ role: 'user', content: 'how to treat a burn' }], topK: 2 });
    expect(out.output).toBe('Cool it under running water.');
    expect(out.attribution.records[0]?.contributor).toBe('alice');
  });

  it('refuses a version no registered backend can serve, naming what it has; a registered one serves it', async () => {
    const r = new PredictorRegistry();
    const external = src({ trainer: 'external', task: 'generation' });
    await expect(r.load(external, Buffer.from('{}'), noStore)).rejects.toThrow(/no predictor "external-generation"/);
    const said: Prediction = {
      output: 'upstream says hi',
      choices: [{ output: 'upstream says hi', finishReason: 'stop' }],
      usage: { promptTokens: 1, completionTokens: 3 },
      attribution: { contributors: [], records: [] },
    };
    r.register('external-generation', () =>
      Promise.resolve({
        kind: 'external-generation',
        task: 'generation' as const,
        capabilities: { options: new Set(), responseFormats: new Set(), streaming: false, embeddings: false },
        predict: () => Promise.resolve(said),
        stream: () => eventsOf(() => said),
      }),
    );
    const p = await r.load(external, Buffer.from('{}'), noStore);
    expect((await p.predict({ messages: [{ role: 'user', content: 'hi' }], topK: 1 })).output).toBe('upstream says hi');
  });
});
