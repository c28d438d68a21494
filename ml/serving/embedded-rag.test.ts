import { describe, expect, it } from 'vitest';
import { RagModel, serializeRag } from '../generative/rag-model.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import {
  PredictorRegistry,
  UnsupportedOption,
  collect,
  textTokens,
  type GenerationOptions,
  type PredictionEvent,
  type PredictRequest,
} from './predictor.js';

const noStore = {} as ArtifactStore; // the RAG predictor reads nothing but its artifact
const docs = [
  {
    hash: 'h1',
    contributor: 'alice',
    prompt: 'How do I treat a burn?',
    response: 'Cool it under running water. Then cover it.',
  },
  {
    hash: 'h2',
    contributor: 'bob',
    prompt: 'How should a burn be treated?',
    response: 'Run cool water over the burn.',
  },
  { hash: 'h3', contributor: 'carol', prompt: 'What helps with heartburn?', response: 'Eat smaller meals.' },
];
const load = () =>
  new PredictorRegistry().load(
    { modelName: 'm', version: 1, artifactKey: 'a', manifestKey: 'k', trainer: 'embedded', task: 'generation' },
    serializeRag(new RagModel(docs)),
    noStore,
  );
const ask = (content: string, options?: PredictRequest['options']): PredictRequest => ({
  messages: [{ role: 'user', content }],
  topK: 2,
  ...(options ? { options } : {}),
});

async function events(it: AsyncIterable<PredictionEvent>): Promise<PredictionEvent[]> {
  const out: PredictionEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('embedded RAG predictor', () => {
  it('streams attribution first, then the answer token by token, then done with usage in its tokens', async () => {
    const p = await load();
    expect(p.capabilities.streaming).toBe(true);
    const ev = await events(p.stream(ask('How do I treat a burn?')));
    expect(ev[0]).toMatchObject({ type: 'attribution' });
    const deltas = ev.filter((e) => e.type === 'delta');
    const answer = 'Cool it under running water. Then cover it.';
    expect(deltas.map((d) => (d.type === 'delta' ? d.text : '')).join('')).toBe(answer);
    expect(deltas).toHaveLength(textTokens(answer).length);
    expect(ev.at(-1)).toEqual({
      type: 'done',
      finishReasons: ['stop'],
      usage: { promptTokens: textTokens('How do I treat a burn?').length, completionTokens: deltas.length },
    });
    // predict is the stream gathered.
    const whole = await p.predict(ask('How do I treat a burn?'));
    expect(whole.output).toBe(answer);
    expect(whole.attribution.records[0]?.contributor).toBe('alice');
  });

  it('honours maxTokens (cut in tokens, finish length) and stop (cut before it, finish stop)', async () => {
    const p = await load();
    const cut = await p.predict(ask('How do I treat a burn?', { maxTokens: 3 }));
    expect(cut.output).toBe('Cool it under');
    expect(cut.choices[0]?.finishReason).toBe('length');
    expect(cut.usage.completionTokens).toBe(3);
    const stopped = await p.predict(ask('How do I treat a burn?', { stop: ['. '] }));
    expect(stopped.output).toBe('Cool it under running water');
    expect(stopped.choices[0]?.finishReason).toBe('stop');
  });

  it('n gives distinct answers, best first; more than it has is refused before anything is produced', async () => {
    const p = await load();
    const two = await p.predict(ask('How do I treat a burn?', { n: 2 }));
    expect(two.choices.map((c) => c.output)).toEqual([docs[0]!.response, docs[1]!.response]);
    expect(two.attribution.records.map((r) => r.hash)).toEqual(expect.arrayContaining(['h1', 'h2']));
    const seen: PredictionEvent[] = [];
    const err = await (async () => {
      for await (const e of p.stream(ask('How do I treat a burn?', { n: 5 }))) seen.push(e);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedOption);
    expect(seen).toEqual([]);
  });

  it('refuses sampling, tools and JSON formats', async () => {
    const p = await load();
    for (const [options, param] of [
      [{ temperature: 0.8 }, 'temperature'],
      [{ tools: [{ name: 'f' }] }, 'tools'],
      [{ responseFormat: { type: 'json_object' } }, 'responseFormat'],
      [{ seed: 3 }, 'seed'],
    ] as [GenerationOptions, string][]) {
      const err = await collect(p.stream(ask('burn', options))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsupportedOption);
      expect((err as UnsupportedOption).param).toBe(param);
    }
  });

  it('stops rendering when the caller aborts', async () => {
    const p = await load();
    const ac = new AbortController();
    let deltas = 0;
    const err = await (async () => {
      for await (const e of p.stream({ ...ask('How do I treat a burn?'), signal: ac.signal }))
        if (e.type === 'delta' && ++deltas === 2) ac.abort();
    })().catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(deltas).toBe(2);
  });

  it('embeds with its retriever: unit vectors of one dimension, stable across loads, nearer for nearer texts', async () => {
    const [a, b] = [await load(), await load()];
    const e = await a.embed!(['treat a burn', 'burn treatment', 'heartburn meals', '']);
    expect(new Set(e.vectors.map((v) => v.length)).size).toBe(1);
    for (const v of e.vectors.slice(0, 3)) expect(Math.hypot(...v)).toBeCloseTo(1, 9);
    expect(e.vectors[3]!.every((x) => x === 0)).toBe(true);
    expect((await b.embed!(['treat a burn'])).vectors[0]).toEqual(e.vectors[0]);
    const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
    expect(dot(e.vectors[0]!, e.vectors[1]!)).toBeGreaterThan(dot(e.vectors[0]!, e.vectors[2]!));
    expect(e.usage.promptTokens).toBe(7);
  });
});
