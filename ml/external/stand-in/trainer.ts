/**
 * The stand-in's trainer: speaks the external-trainer protocol (../protocol.ts) as the reference
 * LoRA script does, for generation models, in seconds on a CPU. `sft` writes an adapter (the
 * training pairs the stand-in upstream builds its trigram model from) and evaluates it on the
 * held-out records by generating answers; `generate` samples distinct candidates for review;
 * `dpo` raises chosen answers and lowers rejected ones. Tests run it through the worker's
 * ExternalCommandTrainer (`node --import tsx trainer.ts job.json`); production runs the reference
 * script or a GPU fleet's.
 */
import { readFile } from 'node:fs/promises';
import { generationMetrics } from '../../generative/text-metrics.js';
import type { ManifestRecord } from '../../trainer.js';
import type { ExternalEvent, ExternalJobSpec } from '../protocol.js';
import { readArtifact, writeArtifact } from './adapter.js';
import { generate, NgramModel, type TrainingPair } from './ngram-model.js';
import { seededRng } from './rng.js';

/** Longest answer generated while evaluating or proposing candidates. */
const ANSWER_TOKENS = 96;
/** How far a preference moves a record's weight. */
const PREFERENCE_STEP = 0.5;

const emit = (e: ExternalEvent) => process.stdout.write(`${JSON.stringify(e)}\n`);

async function manifest(path: string | undefined): Promise<ManifestRecord[]> {
  if (!path) return [];
  // Split on "\n" only: a record's text may hold U+2028 (storage/jsonl.ts).
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ManifestRecord);
}

function evaluate(pairs: TrainingPair[], held: ManifestRecord[]) {
  const model = new NgramModel(pairs);
  const greedy = { temperature: 0, topP: 1, rng: seededRng(0) };
  return generationMetrics(
    held.map((r) => ({ answer: generate(model, r.text, greedy, ANSWER_TOKENS).text, reference: r.response ?? '' })),
  );
}

async function sft(spec: ExternalJobSpec): Promise<void> {
  if (spec.taskType !== 'generation') throw new Error('the stand-in trainer trains generation models only');
  const base = spec.inputs.base ? await readArtifact(spec.inputs.base) : [];
  const train = await manifest(spec.inputs.train);
  const pairs = [...base, ...train.map((r) => ({ prompt: r.text, response: r.response ?? '' }))];
  const total = Math.max(1, Math.ceil(train.length / 10));
  for (let step = 1; step <= total; step++)
    emit({ type: 'progress', step, totalSteps: total, epoch: 1, loss: 1 / step });
  const artifact = await writeArtifact(spec.outputDir, pairs);
  emit({ type: 'result', artifact, metrics: evaluate(pairs, await manifest(spec.inputs.eval)) });
}

async function candidates(spec: ExternalJobSpec): Promise<void> {
  if (!spec.inputs.model) throw new Error('a generate job needs inputs.model');
  const model = new NgramModel(await readArtifact(spec.inputs.model));
  const k = Math.max(1, spec.candidatesPerPrompt ?? 2);
  const outputs = (spec.prompts ?? []).map((p, i) => {
    const found = new Map<string, number>();
    // The greedy answer, then samples, until k distinct ones (a bounded number of tries).
    for (let attempt = 0; found.size < k && attempt < k * 8; attempt++) {
      const sampling = { temperature: attempt === 0 ? 0 : 1, topP: 1, rng: seededRng(i * 1000 + attempt) };
      const g = generate(model, p.text, sampling, ANSWER_TOKENS);
      if (g.text && !found.has(g.text)) found.set(g.text, g.meanLogprob);
    }
    const ranked = [...found].sort((a, b) => b[1] - a[1]).map(([output, score]) => ({ output, score }));
    return { promptId: p.id, outputs: ranked };
  });
  emit({ type: 'result', outputs });
}

async function dpo(spec: ExternalJobSpec): Promise<void> {
  if (!spec.inputs.policy) throw new Error('a dpo job needs inputs.policy');
  const pairs = await readArtifact(spec.inputs.policy);
  const prefs = spec.preferences ?? [];
  for (const pref of prefs) {
    for (const p of pairs)
      if (p.response === pref.rejected) p.weight = (p.weight ?? 1) * (1 - PREFERENCE_STEP * Math.min(1, pref.weight));
    pairs.push({ prompt: pref.prompt, response: pref.chosen, weight: PREFERENCE_STEP * pref.weight });
  }
  emit({ type: 'progress', step: 1, totalSteps: 1, epoch: 1, loss: 0 });
  const artifact = await writeArtifact(spec.outputDir, pairs);
  emit({ type: 'result', artifact, metrics: evaluate(pairs, await manifest(spec.inputs.eval)) });
}

const jobFile = process.argv[2];
if (!jobFile) throw new Error('usage: trainer.ts job.json');
const spec = JSON.parse(await readFile(jobFile, 'utf8')) as ExternalJobSpec;
const run = { sft, generate: candidates, dpo }[spec.task];
await run(spec).catch((err: Error) => {
  process.stderr.write(`stand-in trainer: ${err.message}\n`);
  process.exit(2);
});
