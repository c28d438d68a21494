/**
 * Training, candidate generation and the preference update of the embedded RAG model (the
 * `embedded` trainer delegates here for `task: 'generation'` and for RAG artifacts).
 *
 * - train: builds the retrieval index over the training split and fits the linear ranker with a
 *   Bradley–Terry loss on self-supervised pairs: for each training prompt (its own record left out),
 *   the retrieved response closest to its reference (token-F1) should outrank the others.
 * - generate: the `n` best distinct retrieved responses per prompt (reviewers compare two).
 * - dpo: Bradley–Terry on the reviewers' preferences, anchored to the reference ranker by an L2
 *   penalty of strength β (the DPO-style KL anchor for a linear scorer); it moves the ranker weights
 *   and the per-record biases of the records that were compared.
 * Each ends with the held-out evaluation: mean token-F1 (accuracy) and ROUGE-L (macroF1).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { mulberry32 } from '../../domain/prng.js';
import type {
  DpoJob,
  EvalMetrics,
  GeneratedCandidates,
  GenerationJob,
  ManifestRecord,
  TrainerContext,
  TrainingJob,
  TrainingResult,
} from '../trainer.js';
import { splitManifest } from '../embedded/embedded-trainer.js';
import { fetchManifestRecords } from '../embedded/manifest-stream.js';
import { throwIfAborted } from '../embedded/linear-softmax.js';
import { RANKER_DIM, RagModel, deserializeRag, isRagArtifact, serializeRag, type RagDocument } from './rag-model.js';
import { generationMetrics, tokenF1 } from './text-metrics.js';
import { buildSpanIndex, promoteSpanIndex, uploadSpanIndex } from '../spans/span-store.js';

/** Self-supervised ranking pairs are built from at most this many training prompts. */
const MAX_RANKER_PROMPTS = 2000;
/** A retrieved response must beat another by this much token-F1 to form a training pair. */
const PAIR_MARGIN = 0.05;

interface Pair {
  c: number;
  r: number;
  fc: Float64Array;
  fr: Float64Array;
  weight: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** 0..n-1 in a seeded Fisher–Yates order. */
function shuffled(n: number, rand: () => number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Runs `f` with a scratch directory removed afterwards. */
async function inWorkDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'commons-rag-'));
  try {
    return await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function loadRag(store: ArtifactStore, key: string): Promise<RagModel> {
  return deserializeRag(await store.get(key));
}

export function toDocuments(records: ManifestRecord[]): RagDocument[] {
  return records.map((r) => {
    if (typeof r.response !== 'string' || r.response.trim() === '')
      throw new Error(`record ${r.hash} has no response: a generation manifest needs one per record`);
    return { hash: r.hash, contributor: r.contributor, prompt: r.text, response: r.response };
  });
}

/** Held-out metrics: each prompt answered by the model, scored against its reference response. */
export function evaluateRag(model: RagModel, records: ManifestRecord[], signal?: AbortSignal): EvalMetrics {
  const pairs = records
    .filter((r) => typeof r.response === 'string')
    .map((r) => {
      throwIfAborted(signal);
      return { answer: model.answer(r.text).text, reference: r.response! };
    });
  return generationMetrics(pairs);
}

export class RagTrainer {
  readonly kind = 'embedded';

  async train(job: TrainingJob, ctx: TrainerContext): Promise<TrainingResult> {
    const { store, signal } = ctx;
    const hp = job.hyperparams;
    const { records, sealed } = await inWorkDir((dir) => fetchManifestRecords(ctx, job.datasetManifestKey, dir));
    const split = splitManifest(records, job.evalFraction);
    const docs = toDocuments(split.train);
    if (docs.length < 2) throw new Error(`a RAG model needs at least 2 training records, got ${docs.length}`);
    let model = new RagModel(docs);
    if (job.baseArtifactKey) {
      const base = await store.get(job.baseArtifactKey);
      // A generative base warm-starts the ranker; its records are not carried over (this dataset is the index).
      if (isRagArtifact(base)) model = new RagModel(docs, Float64Array.from(deserializeRag(base).weights));
    }
    throwIfAborted(signal);

    // Self-supervised pairs: retrieval for each training prompt with its own record left out.
    const pairs: Pair[] = [];
    const rand = mulberry32(hp.seed);
    const order = shuffled(docs.length, rand);
    for (const i of order.slice(0, MAX_RANKER_PROMPTS)) {
      throwIfAborted(signal);
      const doc = docs[i]!;
      const cands = model
        .candidates(doc.prompt, i)
        .map((c) => ({ ...c, f1: tokenF1(docs[c.id]!.response, doc.response) }));
      const best = cands.reduce((a, b) => (b.f1 > a.f1 ? b : a), cands[0]!);
      if (!best) continue;
      for (const o of cands)
        if (best.f1 - o.f1 > PAIR_MARGIN)
          pairs.push({ c: best.id, r: o.id, fc: best.features, fr: o.features, weight: 1 });
    }
    const steps = await fitPairs(model, undefined, pairs, {
      epochs: hp.epochs,
      learningRate: Math.min(hp.learningRate, 0.5),
      batchSize: hp.batchSize,
      seed: hp.seed,
      l2: hp.l2,
      anchor: 0,
      trainBias: false,
      signal,
      progress: (step, totalSteps, epoch, loss) => ctx.progress({ phase: 'train', step, totalSteps, epoch, loss }),
    });
    const metrics = evaluateRag(model, split.eval, signal);
    ctx.progress({ phase: 'eval', step: steps, totalSteps: steps, epoch: hp.epochs, loss: metrics.loss });
    model.meta = {
      jobId: job.jobId,
      modelName: job.modelName,
      kind: 'trained',
      task: 'generation',
      datasetManifestKey: job.datasetManifestKey,
      baseArtifactKey: job.baseArtifactKey ?? null,
      hyperparams: hp,
      rankerPairs: pairs.length,
      documents: docs.length,
      metrics,
    };
    // Answers are attributed by the spans they share with the training text (ml/spans), indexed
    // beside the model before it is written. Private records: the metrics above judged the record
    // each answer retrieves (read here, in the worker); the artifact keeps their vectors and hashes
    // only and names that record instead, and there is no span index (it would hold their text).
    if (!sealed)
      model.meta.spanIndex = await uploadSpanIndex(store, artifactKeyOf(job.outputPrefix), buildSpanIndex(split.train));
    return writeArtifact(store, job.outputPrefix, sealed ? model.withoutText() : model, metrics, steps);
  }

  async generate(job: GenerationJob, ctx: TrainerContext): Promise<GeneratedCandidates[]> {
    const model = await loadRag(ctx.store, job.artifactKey);
    const n = Math.max(1, Math.floor(job.candidatesPerPrompt));
    return job.prompts.map((p) => {
      throwIfAborted(ctx.signal);
      return { promptId: p.id, outputs: model.distinctAnswers(p.text, n) };
    });
  }

  async dpo(job: DpoJob, ctx: TrainerContext): Promise<TrainingResult> {
    const { store, signal } = ctx;
    const hp = job.hyperparams;
    const [policy, reference] = await Promise.all([
      loadRag(store, job.policyArtifactKey),
      loadRag(store, job.referenceArtifactKey),
    ]);
    if (!policy.quotes) throw new Error('a model trained on private records has no responses for reviewers to compare');
    if (policy.sources.length !== reference.sources.length)
      throw new Error('the policy and reference RAG models index different datasets');
    const pairs: Pair[] = [];
    for (const p of job.preferences) {
      if (p.chosen === p.rejected || p.weight <= 0) continue;
      const c = policy.documentByResponse(p.chosen);
      const r = policy.documentByResponse(p.rejected);
      if (c === undefined || r === undefined) continue; // not an answer this model can give
      pairs.push({ c, r, fc: policy.features(p.prompt, c), fr: policy.features(p.prompt, r), weight: p.weight });
    }
    const steps = await fitPairs(policy, reference, pairs, {
      epochs: hp.epochs,
      learningRate: hp.learningRate,
      batchSize: hp.batchSize,
      seed: hp.seed,
      l2: 0,
      anchor: job.beta,
      trainBias: true,
      signal,
      progress: (step, totalSteps, epoch, loss) => ctx.progress({ phase: 'dpo', step, totalSteps, epoch, loss }),
    });
    const held = await inWorkDir((dir) => fetchManifestRecords(ctx, job.evalManifestKey, dir));
    const metrics = evaluateRag(policy, held.records, signal);
    ctx.progress({ phase: 'eval', step: steps, totalSteps: steps, epoch: hp.epochs, loss: metrics.loss });
    policy.meta = {
      jobId: job.jobId,
      modelName: job.modelName,
      kind: 'dpo',
      task: 'generation',
      policyArtifactKey: job.policyArtifactKey,
      referenceArtifactKey: job.referenceArtifactKey,
      beta: job.beta,
      pairs: pairs.length,
      hyperparams: hp,
      metrics,
    };
    // Same records, same span index: copied beside the updated model so it is promoted with it.
    const spanIndex = await promoteSpanIndex(store, job.policyArtifactKey, artifactKeyOf(job.outputPrefix));
    if (spanIndex) policy.meta.spanIndex = spanIndex;
    return writeArtifact(store, job.outputPrefix, policy, metrics, steps);
  }
}

/**
 * Minibatch gradient descent on the Bradley–Terry loss −w·log σ(s_chosen − s_rejected), plus
 * `anchor`·‖θ − θ_ref‖² toward a reference ranker and `l2`·‖w‖². Returns the number of steps.
 */
async function fitPairs(
  model: RagModel,
  reference: RagModel | undefined,
  pairs: Pair[],
  o: {
    epochs: number;
    learningRate: number;
    batchSize: number;
    seed: number;
    l2: number;
    anchor: number;
    trainBias: boolean;
    signal: AbortSignal;
    progress: (step: number, totalSteps: number, epoch: number, loss: number) => void;
  },
): Promise<number> {
  const batch = Math.max(1, Math.floor(o.batchSize));
  const perEpoch = Math.ceil(pairs.length / batch);
  const totalSteps = perEpoch * Math.max(0, Math.floor(o.epochs));
  const rand = mulberry32(o.seed);
  const w = model.weights;
  const b = model.bias;
  const wRef = reference?.weights ?? new Float64Array(RANKER_DIM);
  const bRef = reference?.bias ?? new Float64Array(b.length);
  let step = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const order = shuffled(pairs.length, rand);
    for (let start = 0; start < order.length; start += batch) {
      throwIfAborted(o.signal);
      const gw = new Float64Array(RANKER_DIM);
      const gb = new Map<number, number>();
      let loss = 0;
      const ids = order.slice(start, start + batch);
      for (const k of ids) {
        const p = pairs[k]!;
        const diff = model.score(p.fc, p.c) - model.score(p.fr, p.r);
        const s = sigmoid(diff);
        loss -= p.weight * Math.log(Math.max(s, 1e-12));
        const g = p.weight * (1 - s);
        for (let j = 0; j < RANKER_DIM; j++) gw[j]! -= g * (p.fc[j]! - p.fr[j]!);
        if (o.trainBias) {
          gb.set(p.c, (gb.get(p.c) ?? 0) - g);
          gb.set(p.r, (gb.get(p.r) ?? 0) + g);
        }
      }
      const lr = o.learningRate / ids.length;
      for (let j = 0; j < RANKER_DIM; j++) {
        const reg = 2 * o.anchor * (w[j]! - wRef[j]!) + 2 * o.l2 * w[j]!;
        w[j]! -= lr * gw[j]! + o.learningRate * reg;
      }
      for (const [id, g] of gb) b[id]! -= lr * g + o.learningRate * 2 * o.anchor * (b[id]! - bRef[id]!);
      step++;
      o.progress(step, totalSteps, epoch, loss / ids.length);
      if (step % 50 === 0) await new Promise((r) => setImmediate(r)); // let heartbeats and cancellation through
    }
  }
  return step;
}

const artifactKeyOf = (outputPrefix: string) => `${outputPrefix}/model.bin`;

async function writeArtifact(
  store: ArtifactStore,
  outputPrefix: string,
  model: RagModel,
  metrics: EvalMetrics,
  steps: number,
): Promise<TrainingResult> {
  const buf = serializeRag(model);
  const artifactKey = artifactKeyOf(outputPrefix);
  const sha256 = createHash('sha256').update(buf).digest('hex');
  await store.put(artifactKey, buf, { contentType: 'application/octet-stream', metadata: { sha256 } });
  return { artifactKey, sha256, metrics, steps, resumedFromStep: 0 };
}
