import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../storage/memory-store.js';
import { startStandIn, type StandInServer } from '../external/stand-in/server.js';
import { writeArtifact } from '../external/stand-in/adapter.js';
import { ExactCosineIndex } from '../generative/retrieval.js';
import { attributeSpans, buildSpanIndex, loadSpanIndex, uploadSpanIndex, type SpanIndex } from '../spans/index.js';
import { retrievalAttribution, upstreamPredictor } from './upstream-predictor.js';
import type { PredictionEvent, Predictor } from './predictor.js';
import type { Attribution } from '../embedded/influence.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

// The generating stand-in answers from a trigram model of these responses, so at temperature 0 it
// quotes them: a non-streamed answer is attributed by its spans, a stream (its fee committed before
// the first token) by retrieval over the request.
describe('upstream predictor with a span index beside the adapter', () => {
  let standIn: StandInServer;
  let predictor: Predictor;
  let index: SpanIndex;
  const manifest = [
    ['How do I treat a burn?', 'Cool the burn under cold running water for twenty minutes and then cover it loosely.'],
    ['What helps with heartburn?', 'Eat smaller meals, avoid lying down after eating and raise the head of your bed.'],
    ['How much should I sleep?', 'Most adults need seven to nine hours of sleep on a regular schedule every night.'],
  ].map(([text, response], i) => ({
    hash: sha(`r${i}`),
    contributor: `c${i}`,
    text: text!,
    response: response!,
    label: '',
  }));
  const ask = (content: string) => ({
    messages: [{ role: 'user' as const, content }],
    topK: 3,
    options: { temperature: 0 },
  });

  beforeAll(async () => {
    standIn = await startStandIn();
    const store = new MemoryStore();
    await store.put('datasets/gen.jsonl', manifest.map((r) => JSON.stringify(r)).join('\n'));
    const out = mkdtempSync(join(tmpdir(), 'commons-stand-in-artifact-'));
    await writeArtifact(
      out,
      manifest.map((r) => ({ prompt: r.text, response: r.response })),
    );
    const artifactKey = 'models/health/1/model.bin';
    await uploadSpanIndex(store, artifactKey, buildSpanIndex(manifest));
    index = (await loadSpanIndex(store, artifactKey))!;
    const factory = upstreamPredictor({
      baseUrl: standIn.url,
      adapterDir: mkdtempSync(join(tmpdir(), 'commons-adapters-')),
    });
    const src = {
      modelName: 'health',
      version: 1,
      artifactKey,
      manifestKey: 'datasets/gen.jsonl',
      trainer: 'external',
      task: 'generation' as const,
    };
    predictor = await factory(src, readFileSync(join(out, 'model.tar')), store);
  });
  afterAll(() => standIn.close());

  it('attributes a non-streamed answer by the spans it quotes', async () => {
    expect(predictor.attributionMode).toBe('spans');
    const answer = await predictor.predict(ask('How much should I sleep?'));
    const expected = attributeSpans(index, [answer.output], 3);
    if (!expected) throw new Error(`the stand-in's "${answer.output}" quotes no training span`);
    expect(answer.attribution).toEqual(expected.attribution);
  });

  it('attributes a stream by retrieval over the request', async () => {
    const events: PredictionEvent[] = [];
    for await (const e of predictor.stream(ask('How much should I sleep?'))) events.push(e);
    const first = events[0] as { type: 'attribution'; attribution: Attribution };
    const retrieval = new ExactCosineIndex(manifest.map((r) => `${r.text}\n${r.response}`));
    expect(first.attribution).toEqual(retrievalAttribution(retrieval, manifest, 'How much should I sleep?', 3));
  });
});
