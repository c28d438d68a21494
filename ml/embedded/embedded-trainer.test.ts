import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { MemoryStore } from '../../storage/memory-store.js';
import type { Hyperparams, TrainerContext, TrainingJob, TrainingProgress } from '../trainer.js';
import { EmbeddedTrainer, checkpointKey, loadModel, splitManifest } from './embedded-trainer.js';
import { SYNTHETIC_LABELS, syntheticDataset } from './synthetic.js';

/** xs[i] for an index the test knows is in range; fails the test naming the index otherwise. */
function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i} (length ${xs.length})`);
  return x;
}

/** `value`, or a test failure saying what is missing. */
function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`expected ${what}, found none`);
  return value;
}

const HP: Hyperparams = { epochs: 3, learningRate: 0.5, l2: 1e-4, batchSize: 16, seed: 9, checkpointEvery: 10 };

async function storeWithManifest(n = 600, seed = 1): Promise<MemoryStore> {
  const store = new MemoryStore();
  const lines = syntheticDataset(n, seed).map((r) => JSON.stringify(r));
  await store.put('datasets/m1.jsonl', lines.join('\n') + '\n');
  return store;
}

function job(overrides: Partial<TrainingJob> = {}): TrainingJob {
  return {
    jobId: 'job-1',
    modelName: 'topics',
    task: 'classification',
    labels: SYNTHETIC_LABELS,
    datasetManifestKey: 'datasets/m1.jsonl',
    evalFraction: 0.2,
    hyperparams: HP,
    outputPrefix: 'staging/topics/job-1',
    ...overrides,
  };
}

function ctx(
  store: ArtifactStore,
  extra: Partial<TrainerContext> = {},
): TrainerContext & { events: TrainingProgress[] } {
  const events: TrainingProgress[] = [];
  return { store, progress: (p) => void events.push(p), signal: new AbortController().signal, events, ...extra };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('EmbeddedTrainer', () => {
  const trainer = new EmbeddedTrainer({ dim: 1 << 16 });

  it('trains from a manifest, checkpoints, reports progress and writes a verifiable artifact', async () => {
    const store = await storeWithManifest();
    const c = ctx(store);
    const res = await trainer.train(job(), c);
    const split = splitManifest(syntheticDataset(600, 1), 0.2);
    expect(split.eval.length).toBeGreaterThan(80);
    expect(split.eval.length).toBeLessThan(160);
    const totalSteps = Math.ceil(split.train.length / HP.batchSize) * HP.epochs;

    expect(res.artifactKey).toBe('staging/topics/job-1/model.bin');
    expect(res.steps).toBe(totalSteps);
    expect(res.resumedFromStep).toBe(0);
    expect(res.sha256).toBe(sha(await store.get(res.artifactKey)));
    expect(res.metrics.examples).toBe(split.eval.length);
    expect(res.metrics.accuracy).toBeGreaterThan(0.9);

    const trainEvents = c.events.filter((e) => e.phase === 'train');
    expect(trainEvents.map((e) => e.step)).toEqual(Array.from({ length: totalSteps }, (_, i) => i + 1));
    const ckptEvents = trainEvents.filter((e) => e.checkpointKey);
    expect(ckptEvents.map((e) => e.step)).toEqual(
      Array.from({ length: Math.floor((totalSteps - 1) / 10) }, (_, i) => (i + 1) * 10),
    );
    for (const e of ckptEvents) {
      expect(e.checkpointKey).toBe(checkpointKey('staging/topics/job-1', e.step));
      expect((await loadModel(store, e.checkpointKey!)).meta.step).toBe(e.step);
    }
    // Evaluation, then the attribution index build (projection, then graph) up to its total.
    const evalAt = c.events.findIndex((e) => e.phase === 'eval');
    expect(evalAt).toBeGreaterThan(0);
    const indexEvents = c.events.slice(evalAt + 1);
    expect(indexEvents.length).toBeGreaterThan(0);
    expect(indexEvents.every((e) => e.phase === 'index')).toBe(true);
    expect(indexEvents.at(-1)!.step).toBe(indexEvents.at(-1)!.totalSteps);
    const model = await loadModel(store, res.artifactKey);
    expect(model.meta.jobId).toBe('job-1');
    const ref = model.meta.attributionIndex as { prefix: string; size: number };
    expect(ref.prefix).toBe('staging/topics/job-1/attribution/');
    expect(ref.size).toBe(model.meta.trainExamples);
    for (const f of ['header.json', 'records.bin', 'features.bin', 'ann.usearch'])
      expect(store.objects.has(ref.prefix + f)).toBe(true);
    expect(model.predict('the referee stopped the match after the goal').label).toBe('sports');
  });

  it('a retry resumes from the last reported checkpoint and produces the identical artifact', async () => {
    const reference = await trainer.train(job(), ctx(await storeWithManifest()));

    const store = await storeWithManifest();
    const ac = new AbortController();
    let last: { step: number; checkpointKey: string } | undefined;
    const crashAt = 47;
    const first = ctx(store, {
      signal: ac.signal,
      progress: (p) => {
        if (p.checkpointKey) last = { step: p.step, checkpointKey: p.checkpointKey };
        if (p.step === crashAt) ac.abort(new Error('worker crashed'));
      },
    });
    await expect(trainer.train(job(), first)).rejects.toThrow('worker crashed');
    expect(last?.step).toBe(40);
    expect(await store.head('staging/topics/job-1/model.bin')).toBeUndefined();

    const resumed = await trainer.train(job(), ctx(store, { resumeFrom: last }));
    expect(resumed.resumedFromStep).toBe(40);
    expect(resumed.steps).toBe(reference.steps);
    expect(resumed.sha256).toBe(reference.sha256);
    expect(resumed.metrics).toEqual(reference.metrics);
  });

  it('refuses a checkpoint from another job', async () => {
    const store = await storeWithManifest();
    await trainer.train(job(), ctx(store));
    await expect(
      trainer.train(
        job({ jobId: 'job-2' }),
        ctx(store, { resumeFrom: { step: 10, checkpointKey: checkpointKey('staging/topics/job-1', 10) } }),
      ),
    ).rejects.toThrow(/does not belong/);
  });

  it('warm-starts from a base artifact', async () => {
    const store = await storeWithManifest();
    const base = await trainer.train(job({ hyperparams: { ...HP, epochs: 2 } }), ctx(store));
    await store.put(
      'datasets/m2.jsonl',
      syntheticDataset(200, 2)
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const cold = ctx(store);
    const warm = ctx(store);
    const small = { ...HP, epochs: 1 };
    await trainer.train(
      job({ jobId: 'cold', datasetManifestKey: 'datasets/m2.jsonl', outputPrefix: 'staging/cold', hyperparams: small }),
      cold,
    );
    const res = await trainer.train(
      job({
        jobId: 'warm',
        datasetManifestKey: 'datasets/m2.jsonl',
        outputPrefix: 'staging/warm',
        hyperparams: small,
        baseArtifactKey: base.artifactKey,
      }),
      warm,
    );
    expect(at(warm.events, 0).loss).toBeLessThan(at(cold.events, 0).loss);
    expect(res.metrics.accuracy).toBeGreaterThan(0.85);
  });

  it('rejects manifests with labels outside the label set', async () => {
    const store = new MemoryStore();
    await store.put('datasets/bad.jsonl', JSON.stringify({ hash: 'h', contributor: 'c', text: 't', label: 'weather' }));
    await expect(trainer.train(job({ datasetManifestKey: 'datasets/bad.jsonl' }), ctx(store))).rejects.toThrow(
      /weather/,
    );
  });

  it('generates ranked label candidates', async () => {
    const store = await storeWithManifest();
    const { artifactKey } = await trainer.train(job(), ctx(store));
    const out = await trainer.generate(
      {
        artifactKey,
        candidatesPerPrompt: 2,
        prompts: [
          { id: 'p1', text: 'bake the bread with butter and flour' },
          { id: 'p2', text: 'interest rates and the stock market' },
        ],
      },
      ctx(store),
    );
    expect(out.map((o) => o.promptId)).toEqual(['p1', 'p2']);
    expect(at(at(out, 0).outputs, 0).output).toBe('cooking');
    expect(at(at(out, 1).outputs, 0).output).toBe('finance');
    for (const o of out) {
      expect(o.outputs).toHaveLength(2);
      expect(at(o.outputs, 0).score).toBeGreaterThanOrEqual(at(o.outputs, 1).score);
      expect(new Set(o.outputs.map((x) => x.output)).size).toBe(2);
    }
  });

  it('runs DPO on preferences and evaluates the result', async () => {
    const store = await storeWithManifest();
    const ref = await trainer.train(job(), ctx(store));
    const prompts = ['a new dividend from the bank', 'the investor bought the bond'];
    const c = ctx(store);
    const res = await trainer.dpo(
      {
        jobId: 'dpo-1',
        modelName: 'topics',
        policyArtifactKey: ref.artifactKey,
        referenceArtifactKey: ref.artifactKey,
        preferences: prompts.map((prompt) => ({ prompt, chosen: 'sports', rejected: 'finance', weight: 0.8 })),
        evalManifestKey: 'datasets/m1.jsonl',
        beta: 0.5,
        hyperparams: { ...HP, epochs: 10, batchSize: 2, l2: 0 },
        outputPrefix: 'staging/topics/dpo-1',
      },
      c,
    );
    expect(res.artifactKey).toBe('staging/topics/dpo-1/model.bin');
    expect(res.sha256).toBe(sha(await store.get(res.artifactKey)));
    expect(res.metrics.examples).toBe(600);
    expect(c.events.filter((e) => e.phase === 'dpo')).toHaveLength(10);
    const before = await loadModel(store, ref.artifactKey);
    const after = await loadModel(store, res.artifactKey);
    for (const p of prompts)
      expect(must(after.predict(p).probs.sports, 'a sports probability')).toBeGreaterThan(
        must(before.predict(p).probs.sports, 'a sports probability'),
      );
  });
});
