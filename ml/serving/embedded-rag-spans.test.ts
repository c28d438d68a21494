import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RagModel, serializeRag, type RagDocument } from '../generative/rag-model.js';
import { MemoryStore } from '../../storage/memory-store.js';
import { buildSpanIndex, uploadSpanIndex } from '../spans/span-store.js';
import { PredictorRegistry, type PredictRequest } from './predictor.js';

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const docs: RagDocument[] = [
  {
    prompt: 'How do I treat a burn?',
    response: 'Cool the burn under running water for twenty minutes, then cover it with cling film.',
    contributor: 'alice',
  },
  {
    prompt: 'How should a burn be treated?',
    response: 'Hold the burned skin under cool running water and never put butter or ice on it.',
    contributor: 'bob',
  },
  {
    prompt: 'What helps with heartburn?',
    response: 'Eat smaller meals and avoid lying down after eating.',
    contributor: 'carol',
  },
].map((d) => ({ ...d, hash: hash(d.response) }));

async function load(withIndex: boolean) {
  const store = new MemoryStore();
  const artifactKey = 'models/m/1/model.bin';
  const meta: Record<string, unknown> = {};
  if (withIndex)
    meta.spanIndex = await uploadSpanIndex(
      store,
      artifactKey,
      buildSpanIndex(docs.map((d) => ({ ...d, text: d.prompt }))),
    );
  const artifact = serializeRag(new RagModel(docs, undefined, undefined, undefined, meta));
  return new PredictorRegistry().load(
    { modelName: 'm', version: 1, artifactKey, manifestKey: 'k', trainer: 'embedded', task: 'generation' },
    artifact,
    store,
  );
}
const ask = (content: string, options?: PredictRequest['options']): PredictRequest => ({
  messages: [{ role: 'user', content }],
  topK: 3,
  ...(options ? { options } : {}),
});

describe('embedded RAG predictor with a span index', () => {
  it('attributes the rendered answer to the record whose text it quotes (mode spans)', async () => {
    const p = await load(true);
    expect(p.attributionMode).toBe('spans');
    expect(p.attributionRecords).toBe(3);
    const answer = await p.predict(ask('How do I treat a burn?'));
    expect(answer.output).toBe(docs[0]!.response);
    // Only alice's record holds the answer's words: span matching names it alone (the ranker
    // spread the weight over every retrieved record).
    expect(answer.attribution.records.map((r) => r.hash)).toEqual([docs[0]!.hash]);
    expect(answer.attribution.contributors).toEqual([{ contributor: 'alice', weight: 1 }]);
  });

  it('falls back to the ranker when the rendered text is too short for a span, and without an index', async () => {
    const cut = await (await load(true)).predict(ask('How do I treat a burn?', { maxTokens: 4 }));
    expect(cut.output).toBe('Cool the burn under');
    expect(cut.attribution.records.length).toBeGreaterThan(1); // the ranker's softmax over the retrieved
    const plain = await load(false);
    expect(plain.attributionMode).toBe('retrieval');
    const a = await plain.predict(ask('How do I treat a burn?'));
    expect(a.attribution.records.length).toBeGreaterThan(1);
  });
});
