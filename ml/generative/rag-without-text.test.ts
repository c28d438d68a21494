import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../storage/memory-store.js';
import type { Hyperparams, TrainerContext } from '../trainer.js';
import { wordTokens } from '../../domain/data/tokenize.js';
import { deserializeRag } from './rag-model.js';
import { loadRag, RagTrainer } from './rag-trainer.js';
import { syntheticQa } from './synthetic-qa.js';

const HP: Hyperparams = { epochs: 3, learningRate: 0.5, l2: 1e-4, batchSize: 16, seed: 3, checkpointEvery: 0 };
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * A RAG model trained on private records: the trainer reads them in the clear in the worker (here
 * the context's fetchManifest stands in for the activity's opener and says they were sealed), and
 * the artifact it writes keeps vectors and hashes only.
 */
describe('a RAG model trained on private records', () => {
  const qa = syntheticQa({ perTopic: 12, seed: 5 });
  const records = qa.map((r, i) => ({
    hash: sha(`${i}:${r.question}`),
    contributor: `c${i % 3}`,
    text: `${r.question} CANARY${i}X`,
    label: '',
    response: `${r.answer} CANARY${i}Y`,
  }));
  const manifest = records.map((r) => JSON.stringify(r)).join('\n');

  async function train(sealed: boolean) {
    const store = new MemoryStore();
    await store.put('m.jsonl', manifest);
    const ctx: TrainerContext = {
      store,
      progress: () => {},
      signal: new AbortController().signal,
      fetchManifest: async (_key, path) => {
        await writeFile(path, manifest);
        return { sealed };
      },
    };
    const job = {
      jobId: 'j',
      modelName: 'm',
      task: 'generation' as const,
      labels: [],
      datasetManifestKey: 'm.jsonl',
      evalFraction: 0.25,
      hyperparams: HP,
      outputPrefix: `out-${sealed}`,
    };
    const result = await new RagTrainer().train(job, ctx);
    return { store, result };
  }

  it('writes an artifact with no record text that ranks and attributes like the text-backed model', async () => {
    const [open, priv] = await Promise.all([train(false), train(true)]);
    // Same records, same seed: the held-out metrics (judged in the worker) are the same.
    expect(priv.result.metrics).toEqual(open.result.metrics);
    const bytes = (await priv.store.get(priv.result.artifactKey)).toString('utf8');
    expect(bytes).not.toMatch(/CANARY/);
    for (const r of records.slice(0, 20))
      for (const w of wordTokens(r.response).slice(0, 3)) expect(bytes).not.toContain(` ${w} `);

    const textModel = await loadRag(open.store, open.result.artifactKey);
    const model = deserializeRag(await priv.store.get(priv.result.artifactKey));
    expect(model.quotes).toBe(false);
    for (const q of qa.slice(0, 10).map((x) => x.question)) {
      const quoted = textModel.answer(q, 3);
      const answer = model.answer(q, 3);
      expect(answer.attribution).toEqual(quoted.attribution);
      expect(answer.used).toEqual({ hash: quoted.used.hash, contributor: quoted.used.contributor });
      expect(answer.text).not.toMatch(/CANARY/);
      expect(answer.text).toContain(quoted.used.hash);
      expect(answer.text).not.toContain(quoted.text.slice(0, 20));
    }
  });

  it('has nothing to offer reviewers or a preference update', async () => {
    const { store, result } = await train(true);
    const model = await loadRag(store, result.artifactKey);
    expect(() => model.distinctAnswers(qa[0]!.question, 2)).toThrow(/private records/);
  });
});
