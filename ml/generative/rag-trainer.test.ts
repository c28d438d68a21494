import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { MemoryStore } from '../../storage/memory-store.js';
import { jsonLines } from '../../storage/jsonl.js';
import type { Hyperparams, ManifestRecord, PreferencePair, TrainerContext, TrainingProgress } from '../trainer.js';
import { parseManifest, splitManifest } from '../embedded/embedded-trainer.js';
import { EmbeddedTrainer } from '../embedded/embedded-trainer.js';
import { deserializeRag, isRagArtifact, serializeRag } from './rag-model.js';
import { loadRag, RagTrainer } from './rag-trainer.js';
import { TaskRoutingTrainer } from './task-trainer.js';
import { syntheticQa } from './synthetic-qa.js';
import { tokenF1 } from './text-metrics.js';

const HP: Hyperparams = { epochs: 5, learningRate: 0.5, l2: 1e-4, batchSize: 16, seed: 3, checkpointEvery: 0 };

function ctxFor(store: ArtifactStore, events: TrainingProgress[] = []): TrainerContext {
  return { store, progress: (p) => events.push(p), signal: new AbortController().signal };
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function qaStore(
  perTopic = 18,
): Promise<{ store: MemoryStore; records: ManifestRecord[]; topicOf: Map<string, string> }> {
  const qa = syntheticQa({ perTopic, seed: 4 });
  const records = qa.map((r, i) => ({
    hash: sha(`${i}:${r.question}:${r.answer}`),
    contributor: `c${i % 3}`,
    text: r.question,
    label: '',
    response: r.answer,
  }));
  const store = new MemoryStore();
  await store.put('data/manifest.jsonl', records.map((r) => JSON.stringify(r)).join('\n'));
  return { store, records, topicOf: new Map(qa.map((r) => [r.answer, r.topic])) };
}

async function trained(store: MemoryStore, events: TrainingProgress[] = []) {
  return new RagTrainer().train(
    {
      jobId: 'j1',
      modelName: 'health',
      task: 'generation',
      labels: [],
      datasetManifestKey: 'data/manifest.jsonl',
      evalFraction: 0.25,
      hyperparams: HP,
      outputPrefix: 'staging/p1/train',
    },
    ctxFor(store, events),
  );
}

describe('embedded RAG model', () => {
  it('trains a ranker over the retrieval index and answers held-out prompts from the right topic', async () => {
    const { store, records, topicOf } = await qaStore();
    const events: TrainingProgress[] = [];
    const r = await trained(store, events);
    expect(events.some((e) => e.phase === 'train')).toBe(true);
    expect(r.steps).toBeGreaterThan(0);
    const model = await loadRag(store, r.artifactKey);
    const { train, eval: held } = splitManifest(records, 0.25);
    expect(model.docs).toHaveLength(train.length);
    expect(held.length).toBeGreaterThan(10);
    // The answer comes from a training record on the held-out prompt's topic.
    const onTopic = held.filter((h) => topicOf.get(model.answer(h.text).text) === topicOf.get(h.response!)).length;
    expect(onTopic / held.length).toBeGreaterThan(0.9);
    // Held-out token-F1 is what the metrics report, and it is well above a random training answer's.
    const random =
      held.reduce((s, h, i) => s + tokenF1(train[(i * 7) % train.length]!.response!, h.response!), 0) / held.length;
    expect(r.metrics.accuracy).toBeGreaterThan(random + 0.15);
    expect(r.metrics.examples).toBe(held.length);
    expect(r.metrics.loss).toBeCloseTo(1 - r.metrics.accuracy, 10);
  });

  it('attributes each answer to the records it retrieved, the one it used first and heaviest', async () => {
    const { store } = await qaStore();
    const model = await loadRag(store, (await trained(store)).artifactKey);
    const a = model.answer('How do I treat a sprained ankle at home?', 5);
    expect(a.attribution.records).toHaveLength(5);
    expect(a.attribution.records[0]!.hash).toBe(a.used.hash);
    const influences = a.attribution.records.map((x) => x.influence);
    expect(Math.max(...influences)).toBe(influences[0]);
    expect(influences.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 10);
    const byContributor = new Map<string, number>();
    for (const x of a.attribution.records)
      byContributor.set(x.contributor, (byContributor.get(x.contributor) ?? 0) + x.influence);
    for (const c of a.attribution.contributors) expect(c.weight).toBeCloseTo(byContributor.get(c.contributor)!, 10);
  });

  it('round-trips through its artifact bytes and gives the same answers', async () => {
    const { store } = await qaStore(8);
    const buf = await store.get((await trained(store)).artifactKey);
    expect(isRagArtifact(buf)).toBe(true);
    const model = deserializeRag(buf);
    const again = deserializeRag(serializeRag(model));
    for (const q of ['What helps with heartburn?', 'I have a mild fever. What do you recommend?'])
      expect(again.answer(q)).toEqual(model.answer(q));
  });

  it('pairwise preferences move the ranker; the held-out metric keeps honest updates and exposes adversarial ones', async () => {
    const { store, records } = await qaStore();
    const r = await trained(store);
    const held = splitManifest(records, 0.25).eval;
    await store.put('eval.jsonl', held.map((x) => JSON.stringify(x)).join('\n'));
    const trainer = new RagTrainer();
    const cands = await trainer.generate(
      { artifactKey: r.artifactKey, prompts: held.map((h) => ({ id: h.hash, text: h.text })), candidatesPerPrompt: 2 },
      ctxFor(store),
    );
    expect(cands.every((c) => c.outputs.length === 2 && c.outputs[0]!.output !== c.outputs[1]!.output)).toBe(true);
    const reference = new Map(held.map((h) => [h.hash, h]));
    // Reviewers who know the field prefer the answer closer to the reference; adversaries the other one.
    const prefs = (honest: boolean): PreferencePair[] =>
      cands.flatMap((c) => {
        const h = reference.get(c.promptId)!;
        const [a, b] = c.outputs.map((o) => ({ o: o.output, f1: tokenF1(o.output, h.response!) }));
        if (Math.abs(a!.f1 - b!.f1) < 1e-9) return [];
        const [better, worse] = a!.f1 > b!.f1 ? [a!, b!] : [b!, a!];
        return [
          { prompt: h.text, chosen: honest ? better.o : worse.o, rejected: honest ? worse.o : better.o, weight: 1 },
        ];
      });
    const update = (honest: boolean) =>
      trainer.dpo(
        {
          jobId: `dpo-${honest}`,
          modelName: 'health',
          policyArtifactKey: r.artifactKey,
          referenceArtifactKey: r.artifactKey,
          preferences: prefs(honest),
          evalManifestKey: 'eval.jsonl',
          beta: 0.1,
          hyperparams: { ...HP, epochs: 3, learningRate: 0.5 },
          outputPrefix: `staging/p1/rlhf-${honest}`,
        },
        ctxFor(store),
      );
    expect(prefs(true).length).toBeGreaterThan(3);
    const honest = await update(true);
    const adversarial = await update(false);
    // The round's keep/discard rule (accuracy >= before − maxEvalDrop with maxEvalDrop 0).
    expect(honest.metrics.accuracy).toBeGreaterThan(r.metrics.accuracy);
    expect(adversarial.metrics.accuracy).toBeLessThan(r.metrics.accuracy);
    const updated = await loadRag(store, honest.artifactKey);
    const chosen = updated.documentByResponse(prefs(true)[0]!.chosen)!;
    expect(updated.bias[chosen]).toBeGreaterThan(0);
  });

  it('trains on prompts and responses holding line separators and answers with them intact', async () => {
    const breaks = ['\u2028', '\u2029', '\u0085', '\r', '\r\n', '\ufeff', '\u202e', '{"hash":"x"}\n'];
    const { records } = await qaStore(6);
    const hostile = records.map((r, i) => ({
      ...r,
      text: `${r.text}${breaks[i % breaks.length]}`,
      response: `${breaks[(i + 1) % breaks.length]}${r.response}`,
    }));
    const store = new MemoryStore();
    // In the format (storage/jsonl.ts), and as a manifest written before it (raw U+2028).
    for (const [key, body] of [
      ['data/manifest.jsonl', jsonLines(hostile)],
      ['data/old.jsonl', hostile.map((r) => JSON.stringify(r) + '\n').join('')],
    ] as const) {
      await store.put(key, body);
      expect(parseManifest(await store.get(key))).toEqual(hostile);
    }
    const model = await loadRag(store, (await trained(store)).artifactKey);
    const { train } = splitManifest(hostile, 0.25);
    expect(model.docs?.map((d) => d.response)).toEqual(train.map((r) => r.response));
    const a = model.answer(train[0]!.text, 3);
    expect(train.map((r) => r.response)).toContain(a.text);
  });

  it('the embedded trainer kind routes generation jobs and RAG artifacts to the RAG trainer', async () => {
    const { store } = await qaStore(6);
    const t = new TaskRoutingTrainer(new EmbeddedTrainer());
    const r = await t.train(
      {
        jobId: 'j2',
        modelName: 'health',
        task: 'generation',
        labels: [],
        datasetManifestKey: 'data/manifest.jsonl',
        evalFraction: 0.25,
        hyperparams: HP,
        outputPrefix: 'staging/p2/train',
      },
      ctxFor(store),
    );
    expect(isRagArtifact(await store.get(r.artifactKey))).toBe(true);
    const [c] = await t.generate(
      {
        artifactKey: r.artifactKey,
        prompts: [{ id: 'q', text: 'What helps with a common cold?' }],
        candidatesPerPrompt: 2,
      },
      ctxFor(store),
    );
    expect(c?.outputs).toHaveLength(2);
    expect(parseManifest(await store.get('data/manifest.jsonl'))[0]?.response).toBeTypeOf('string');
  });
});
