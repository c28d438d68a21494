import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { RagTrainer } from '../../ml/generative/rag-trainer.js';
import { ExactCosineIndex } from '../../ml/generative/retrieval.js';
import { syntheticQa } from '../../ml/generative/synthetic-qa.js';
import { retrievalAttribution } from '../../ml/serving/upstream-predictor.js';
import { attributeSpans, loadSpanIndex, type SpanIndex } from '../../ml/spans/index.js';
import type { ManifestRecord } from '../../ml/trainer.js';

/**
 * A contributor tries to be paid for answers they did not write by submitting records that copy
 * other contributors' questions and hold fragments of their answers (middles and endings, where a
 * quoted answer's shorter spans end). A generation model (here: answers that quote an honest
 * record, as a language model behind the upstream does) is attributed by span matching over the
 * index the trainer built on the stack's S3: it pays for the maximal spans an answer shares with
 * the training text, and a quoted answer's maximal span is the honest record's whole response, so
 * the fragments inside it earn nothing. Retrieval attribution (what generation models had before
 * span indexes) is fooled: the copied questions make the attacker's records the nearest.
 */
describe('span attribution against fragment-stuffing records', () => {
  let app: TestApp;
  let index: SpanIndex;
  const run = Date.now().toString(36);
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const qa = syntheticQa({ perTopic: 6, seed: 9 }).filter((r) => !r.vague);
  const honest: ManifestRecord[] = qa.map((r, i) => ({
    hash: sha(`${run}:h${i}`),
    contributor: `honest-${i % 3}`,
    text: r.question,
    label: '',
    response: r.answer,
  }));
  const words = (t: string) => t.split(/\s+/);
  // Per honest record, one of the attacker's: its question copied, and as response the last 8
  // words and 8 middle words of it and of the next four honest answers.
  const attacker: ManifestRecord[] = honest.map((h, k) => {
    const pieces = [0, 1, 2, 3, 4].flatMap((d) => {
      const w = words(honest[(k + d) % honest.length]!.response!);
      const mid = Math.max(0, Math.floor(w.length / 2) - 4);
      return [w.slice(-8).join(' '), w.slice(mid, mid + 8).join(' ')];
    });
    return { hash: sha(`${run}:m${k}`), contributor: 'mallory', text: h.text, label: '', response: pieces.join(' ') };
  });

  beforeAll(async () => {
    app = await startTestApp({ workers: false });
    const prefix = `staging/span-attack-${run}`;
    await app.store.put(`${prefix}/manifest.jsonl`, [...honest, ...attacker].map((r) => JSON.stringify(r)).join('\n'));
    const trained = await new RagTrainer().train(
      {
        jobId: `span-attack-${run}`,
        modelName: `span-attack-${run}`,
        task: 'generation',
        labels: [],
        datasetManifestKey: `${prefix}/manifest.jsonl`,
        evalFraction: 0, // every record is in the index
        hyperparams: { epochs: 2, learningRate: 0.5, l2: 1e-4, batchSize: 16, seed: 3, checkpointEvery: 0 },
        outputPrefix: `${prefix}/train`,
      },
      { store: app.store, progress: () => {}, signal: new AbortController().signal },
    );
    const loaded = await loadSpanIndex(app.store, trained.artifactKey);
    if (!loaded) throw new Error('the trainer wrote no span index');
    index = loaded;
  }, 300_000);

  afterAll(async () => {
    await app?.close();
  });

  it('pays the honest record an answer quotes, and nothing to the fragments of it', () => {
    const all = [...honest, ...attacker];
    const retrieval = new ExactCosineIndex(all.map((r) => `${r.text}\n${r.response ?? ''}`));
    let fooled = 0;
    for (const h of honest.slice(0, 10)) {
      const answer = `Here is what helps. ${h.response!}`;
      const bySpans = attributeSpans(index, [answer], 5);
      if (!bySpans) throw new Error(`no span of "${answer}" qualified`);
      expect(bySpans.attribution.records[0]?.hash).toBe(h.hash);
      expect(bySpans.attribution.contributors.map((c) => c.contributor)).not.toContain('mallory');
      const byRetrieval = retrievalAttribution(retrieval, all, h.text, 5);
      if (byRetrieval.contributors.some((c) => c.contributor === 'mallory')) fooled++;
    }
    // The attack works on retrieval attribution (it names the attacker on most of these answers):
    // it is what span matching defends against.
    expect(fooled).toBeGreaterThan(0);
  });
});
