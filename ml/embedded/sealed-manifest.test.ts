import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../storage/memory-store.js';
import { asSealedLine, openFields, sealFields } from '../../domain/data/sealed-lines.js';
import { splitLines } from '../../storage/jsonl.js';
import type { Hyperparams } from '../trainer.js';
import { EmbeddedTrainer, isEvalRecord, loadModel, parseManifest, writeEvalManifest } from './embedded-trainer.js';
import { SYNTHETIC_LABELS, syntheticDataset } from './synthetic.js';

const HP: Hyperparams = { epochs: 2, learningRate: 0.5, l2: 1e-4, batchSize: 16, seed: 9, checkpointEvery: 0 };

/** A private Datanet's manifest: sealed lines, each under its record's own key. */
function sealedManifest(n: number) {
  const records = syntheticDataset(n, 2);
  const keys = new Map(records.map((r) => [r.hash, randomBytes(32)]));
  const body = records
    .map((r) =>
      JSON.stringify(sealFields(keys.get(r.hash)!, { hash: r.hash, contributor: r.contributor, datanet: 'dn' }, r)),
    )
    .join('\n');
  return { records, keys, body };
}

describe('trainers on a sealed manifest', () => {
  it('copy held-out lines sealed, chosen by hash alone', async () => {
    const { records, keys, body } = sealedManifest(300);
    const store = new MemoryStore();
    await store.put('m.jsonl', body);
    const n = await writeEvalManifest(store, 'm.jsonl', 0.2, 'eval.jsonl');
    const held = splitLines(await store.get('eval.jsonl')).map((l) => asSealedLine(JSON.parse(l))!);
    expect(held).toHaveLength(n);
    expect(held.map((l) => l.hash)).toEqual(records.filter((r) => isEvalRecord(r.hash, 0.2)).map((r) => r.hash));
    for (const l of held)
      expect(openFields(keys.get(l.hash)!, l).text).toBe(records.find((r) => r.hash === l.hash)!.text);
  });

  it('refuse to read sealed lines themselves: only the worker opener does', async () => {
    const { body } = sealedManifest(3);
    expect(() => parseManifest(body)).toThrow(/sealed/);
    const store = new MemoryStore();
    await store.put('m.jsonl', body);
    const trainer = new EmbeddedTrainer({ dim: 1 << 12, attributionIndex: false });
    const job = {
      jobId: 'j',
      modelName: 'm',
      task: 'classification' as const,
      labels: SYNTHETIC_LABELS,
      datasetManifestKey: 'm.jsonl',
      evalFraction: 0.2,
      hyperparams: HP,
      outputPrefix: 'out',
    };
    await expect(
      trainer.train(job, { store, progress: () => {}, signal: new AbortController().signal }),
    ).rejects.toThrow(/sealed/);
  });

  it('mark a classifier trained on opened private records, so serving attributes from its index', async () => {
    const { records } = sealedManifest(300);
    const store = new MemoryStore();
    const trainer = new EmbeddedTrainer({ dim: 1 << 12 });
    const result = await trainer.train(
      {
        jobId: 'j',
        modelName: 'm',
        task: 'classification',
        labels: SYNTHETIC_LABELS,
        datasetManifestKey: 'm.jsonl',
        evalFraction: 0.2,
        hyperparams: HP,
        outputPrefix: 'out',
      },
      {
        store,
        progress: () => {},
        signal: new AbortController().signal,
        fetchManifest: async (_key, path) => {
          await writeFile(path, records.map((r) => JSON.stringify(r)).join('\n'));
          return { sealed: true };
        },
      },
    );
    const model = await loadModel(store, result.artifactKey);
    expect(model.meta.sealedRecords).toBe(true);
    expect(model.meta.attributionIndex).toBeDefined();
  });
});
