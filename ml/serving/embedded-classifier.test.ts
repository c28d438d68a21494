import { describe, expect, it } from 'vitest';
import { LinearSoftmaxModel, trainEpochs } from '../embedded/linear-softmax.js';
import { serializeModel } from '../embedded/serialize.js';
import { syntheticDataset, SYNTHETIC_LABELS } from '../embedded/synthetic.js';
import { MemoryStore } from '../../storage/memory-store.js';
import {
  PredictorRegistry,
  UnsupportedOption,
  collect,
  type GenerationOptions,
  type PredictionEvent,
} from './predictor.js';

async function classifier() {
  const m = LinearSoftmaxModel.create(SYNTHETIC_LABELS, { dim: 1 << 12, charNgrams: [2, 4] });
  const data = syntheticDataset(90, 1);
  await trainEpochs(
    m,
    data.map((r) => ({ x: m.featurize(r.text), y: m.labelIndex(r.label) })),
    { epochs: 1, learningRate: 0.5, l2: 1e-3, batchSize: 8, seed: 1 },
  );
  const store = new MemoryStore();
  const manifest = data.map((r, i) => ({ hash: `h${i}`, contributor: `c${i % 3}`, text: r.text, label: r.label }));
  await store.put('m.jsonl', manifest.map((r) => JSON.stringify(r)).join('\n'));
  return new PredictorRegistry().load(
    {
      modelName: 'c',
      version: 1,
      artifactKey: 'a',
      manifestKey: 'm.jsonl',
      trainer: 'embedded',
      task: 'classification',
    },
    serializeModel(m),
    store,
  );
}

describe('embedded classifier predictor', () => {
  it('answers one label, counts usage in its word tokens, and streams the label as one piece after the attribution', async () => {
    const p = await classifier();
    const req = { messages: [{ role: 'user' as const, content: 'the oven and the garlic' }], topK: 3 };
    const whole = await p.predict(req);
    expect(SYNTHETIC_LABELS).toContain(whole.output);
    expect(whole.choices).toEqual([{ output: whole.output, finishReason: 'stop' }]);
    expect(whole.usage).toEqual({ promptTokens: 5, completionTokens: 1 });
    expect(Object.keys(whole.probabilities ?? {}).sort()).toEqual([...SYNTHETIC_LABELS].sort());
    const events: PredictionEvent[] = [];
    for await (const e of p.stream(req)) events.push(e);
    expect(events.map((e) => e.type)).toEqual(['attribution', 'delta', 'done']);
    expect(events[1]).toEqual({ type: 'delta', choice: 0, text: whole.output });
    expect(p.capabilities.streaming).toBe(false);
    expect('embed' in p).toBe(false);
  });

  it('refuses sampling, tools, JSON and more than one choice; accepts the defaults', async () => {
    const p = await classifier();
    const ask = { messages: [{ role: 'user' as const, content: 'goal' }], topK: 1 };
    for (const [options, param] of [
      [{ n: 2 }, 'n'],
      [{ temperature: 0.5 }, 'temperature'],
      [{ tools: [{ name: 'f' }] }, 'tools'],
      [{ responseFormat: { type: 'json_object' } }, 'responseFormat'],
      [{ maxTokens: 4 }, 'maxTokens'],
    ] as [GenerationOptions, string][]) {
      const err = await collect(p.stream({ ...ask, options })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsupportedOption);
      expect((err as UnsupportedOption).param).toBe(param);
    }
    await expect(p.predict({ ...ask, options: { n: 1, temperature: 0 } })).resolves.toMatchObject({ choices: [{}] });
  });
});
