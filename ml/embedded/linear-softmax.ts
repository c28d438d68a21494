/**
 * Linear softmax classifier over hashed sparse features, trained by mini-batch SGD on
 * cross-entropy with L2. Effective weights are `scale * weights`: L2 weight decay then costs one
 * multiplication per step instead of a pass over every weight, and sparse updates stay sparse.
 */
import { featureOptions, featurize, featurizeTokens, type FeatureOptions, type SparseVector } from './features.js';
import { epochPermutation } from '../../domain/prng.js';

export interface Example {
  x: SparseVector;
  /** Index into the model's labels. */
  y: number;
}

export class LinearSoftmaxModel {
  /** Row-major labels × dim; the effective weight is scale * weights[k * dim + j]. */
  weights: Float32Array;
  bias: Float32Array;
  /** Lazy L2 decay factor; 1 outside training (see foldScale). */
  scale = 1;
  /** Free-form training metadata carried through serialisation. */
  meta: Record<string, unknown> = {};

  constructor(
    readonly labels: string[],
    readonly features: FeatureOptions,
    weights?: Float32Array,
    bias?: Float32Array,
  ) {
    if (labels.length < 2) throw new RangeError('a classifier needs at least two labels');
    if (new Set(labels).size !== labels.length) throw new RangeError('labels must be unique');
    const n = labels.length * features.dim;
    this.weights = weights ?? new Float32Array(n);
    this.bias = bias ?? new Float32Array(labels.length);
    if (this.weights.length !== n || this.bias.length !== labels.length)
      throw new RangeError('weight shape does not match labels × dim');
  }

  static create(labels: string[], dim: number | Partial<FeatureOptions> = {}): LinearSoftmaxModel {
    const features = featureOptions(typeof dim === 'number' ? { dim } : dim);
    return new LinearSoftmaxModel([...labels], features);
  }

  get dim(): number {
    return this.features.dim;
  }

  clone(): LinearSoftmaxModel {
    const m = new LinearSoftmaxModel(
      [...this.labels],
      { ...this.features, charNgrams: [...this.features.charNgrams] },
      this.weights.slice(),
      this.bias.slice(),
    );
    m.scale = this.scale;
    m.meta = structuredClone(this.meta);
    return m;
  }

  labelIndex(label: string): number {
    const i = this.labels.indexOf(label);
    if (i < 0) throw new RangeError(`unknown label ${JSON.stringify(label)} (model labels: ${this.labels.join(', ')})`);
    return i;
  }

  featurize(text: string): SparseVector {
    return featurize(text, this.features);
  }

  /** `featurize` on tokens already split (see features.ts `featurizeTokens`). */
  featurizeTokens(tokens: readonly string[]): SparseVector {
    return featurizeTokens(tokens, this.features);
  }

  /** Multiply the lazy scale into the weights so `scale` is 1 again. */
  foldScale(): void {
    if (this.scale === 1) return;
    const s = this.scale;
    const w = this.weights;
    for (let i = 0; i < w.length; i++) w[i]! *= s; // i < w.length
    this.scale = 1;
  }

  logits(x: SparseVector, out: Float64Array = new Float64Array(this.labels.length)): Float64Array {
    const { weights, bias, dim, scale } = this;
    const idx = x.indices;
    const val = x.values;
    if (out.length > bias.length || val.length !== idx.length)
      throw new RangeError('logits: output longer than the label set, or a malformed sparse vector');
    // In range below: k < out.length <= labels = bias.length, j < idx.length = val.length, and
    // row + idx[j] < labels * dim = weights.length because feature ids are < dim (SparseVector).
    for (let k = 0; k < out.length; k++) {
      const row = k * dim;
      let s = 0;
      for (let j = 0; j < idx.length; j++) s += weights[row + idx[j]!]! * val[j]!;
      out[k] = s * scale + bias[k]!;
    }
    return out;
  }

  predictProba(x: SparseVector, out?: Float64Array): Float64Array {
    return softmaxInPlace(this.logits(x, out));
  }

  predict(text: string): { label: string; probs: Record<string, number> } {
    return this.predictFeatures(this.featurize(text));
  }

  /** `predict` on features already computed (serving featurizes once for the label and the attribution). */
  predictFeatures(x: SparseVector): { label: string; probs: Record<string, number> } {
    const p = this.predictProba(x);
    const probs: Record<string, number> = {};
    // p has one entry per label, so p[k] and p[best] are in range.
    let best = 0;
    for (const [k, label] of this.labels.entries()) {
      probs[label] = p[k]!;
      if (p[k]! > p[best]!) best = k;
    }
    return { label: this.labels[best]!, probs };
  }
}

export function softmaxInPlace(z: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  let sum = 0;
  for (let k = 0; k < z.length; k++) {
    const e = Math.exp(z[k]! - max); // k < z.length
    z[k] = e;
    sum += e;
  }
  for (let k = 0; k < z.length; k++) z[k]! /= sum;
  return z;
}

/** log p clipped away from -Infinity so one confident mistake cannot make the mean loss infinite. */
export function safeLog(p: number): number {
  return Math.log(Math.max(p, 1e-12));
}

export interface TrainOptions {
  epochs: number;
  learningRate: number;
  l2: number;
  batchSize: number;
  seed: number;
  /** Global step to start from (the step of the checkpoint `model` was loaded from). */
  startStep?: number;
  /** Called after every optimizer step; awaited, so a checkpoint write completes before the next step. */
  onStep?(step: number, totalSteps: number, epoch: number, loss: number): void | Promise<void>;
  signal?: AbortSignal;
}

export interface TrainSummary {
  steps: number;
  totalSteps: number;
  startStep: number;
  /** Mean batch loss over the steps this call ran (NaN if none). */
  meanLoss: number;
}

export function stepsPerEpoch(n: number, batchSize: number): number {
  return Math.ceil(n / batchSize);
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof Error
    ? reason
    : new DOMException(typeof reason === 'string' ? reason : 'aborted', 'AbortError');
}

/**
 * Where training examples come from: `batch(epoch, from, to)` answers positions [from, to) of
 * epoch `epoch`'s order, which must depend only on (seed, epoch). In memory (`inMemoryBatches`)
 * or streamed from manifest shards on disk (ml/embedded/manifest-stream.ts).
 */
export interface BatchSource {
  readonly size: number;
  batch(epoch: number, from: number, to: number): Example[] | Promise<Example[]>;
}

/** Epoch e visits `examples` in epochPermutation(n, seed, e) order. */
export function inMemoryBatches(examples: Example[], seed: number): BatchSource {
  let perm: Uint32Array | undefined;
  let permEpoch = -1;
  return {
    size: examples.length,
    batch(epoch, from, to) {
      if (epoch !== permEpoch) {
        perm = epochPermutation(examples.length, seed, epoch);
        permEpoch = epoch;
      }
      const out: Example[] = [];
      // perm is a permutation of [0, n) and from <= i < to <= n.
      for (let i = from; i < to; i++) out.push(examples[perm![i]!]!);
      return out;
    },
  };
}

/**
 * Mini-batch SGD. Step s (0-based) of the whole run is batch (s mod stepsPerEpoch) of epoch
 * floor(s / stepsPerEpoch), and each epoch's order depends only on (seed, epoch), so a run
 * restarted at step k from the step-k state continues exactly as the uninterrupted run would.
 * The lazy scale is left unfolded between steps (a checkpoint stores it) and folded at the end.
 */
export async function trainEpochs(
  model: LinearSoftmaxModel,
  examples: Example[] | BatchSource,
  opts: TrainOptions,
): Promise<TrainSummary> {
  const source = Array.isArray(examples) ? inMemoryBatches(examples, opts.seed) : examples;
  const { epochs, learningRate: lr, l2 } = opts;
  const batchSize = Math.max(1, Math.floor(opts.batchSize));
  const n = source.size;
  const K = model.labels.length;
  const dim = model.dim;
  if (Array.isArray(examples))
    for (const ex of examples)
      if (!(ex.y >= 0 && ex.y < K)) throw new RangeError(`example label index ${ex.y} out of range`);
  const perEpoch = stepsPerEpoch(n, batchSize);
  const totalSteps = perEpoch * epochs;
  const startStep = opts.startStep ?? 0;
  if (startStep < 0 || startStep > totalSteps)
    throw new RangeError(`startStep ${startStep} outside [0, ${totalSteps}]`);

  const w = model.weights;
  const bias = model.bias;
  const decay = 1 - lr * l2;
  if (!(decay > 0)) throw new RangeError('learningRate * l2 must be < 1');
  const probs: Float64Array[] = Array.from({ length: batchSize }, () => new Float64Array(K));
  let lossSum = 0;

  for (let step = startStep; step < totalSteps; step++) {
    throwIfAborted(opts.signal);
    const epoch = Math.floor(step / perEpoch);
    const from = (step - epoch * perEpoch) * batchSize;
    const to = Math.min(n, from + batchSize);
    const batch = await source.batch(epoch, from, to);
    const b = batch.length;
    for (const ex of batch)
      if (!(ex.y >= 0 && ex.y < K)) throw new RangeError(`example label index ${ex.y} out of range`);

    // Indices below are in range: probs has batchSize >= b rows of K; ex.y < K (checked above);
    // k < K; feature ids are < dim.
    // 1. Forward pass for the whole batch with the current weights.
    let loss = 0;
    for (let i = 0; i < b; i++) {
      const ex = batch[i]!;
      const p = model.predictProba(ex.x, probs[i]);
      loss -= safeLog(p[ex.y]!);
    }
    loss /= b;

    // 2. W <- decay * W - lr * g with W = scale * V: shrink the scale, then apply the sparse
    //    gradient to V divided by the new scale.
    model.scale *= decay;
    if (model.scale < 1e-4) model.foldScale(); // keep V well-conditioned; deterministic in the state
    const coef = lr / b / model.scale;
    for (let i = 0; i < b; i++) {
      const ex = batch[i]!;
      const p = probs[i]!;
      const idx = ex.x.indices;
      const val = ex.x.values;
      for (let k = 0; k < K; k++) {
        const g = p[k]! - (k === ex.y ? 1 : 0);
        if (g === 0) continue;
        const row = k * dim;
        const c = coef * g;
        for (let j = 0; j < idx.length; j++) w[row + idx[j]!]! -= c * val[j]!;
        bias[k]! -= (lr / b) * g;
      }
    }
    lossSum += loss;
    if (opts.onStep) await opts.onStep(step + 1, totalSteps, epoch, loss);
  }
  model.foldScale();
  const ran = totalSteps - startStep;
  return { steps: totalSteps, totalSteps, startStep, meanLoss: ran > 0 ? lossSum / ran : NaN };
}

export interface EvalResult {
  accuracy: number;
  macroF1: number;
  loss: number;
  examples: number;
}

/** evaluate() fed in parts, so a held-out set streamed from disk is never held whole. */
export class EvalAccumulator {
  private readonly tp: Float64Array;
  private readonly fp: Float64Array;
  private readonly fn: Float64Array;
  private readonly p: Float64Array;
  private correct = 0;
  private lossSum = 0;
  private count = 0;

  constructor(private readonly model: LinearSoftmaxModel) {
    const K = model.labels.length;
    this.tp = new Float64Array(K);
    this.fp = new Float64Array(K);
    this.fn = new Float64Array(K);
    this.p = new Float64Array(K);
  }

  add(examples: Iterable<Example>): void {
    const K = this.model.labels.length;
    const { tp, fp, fn, p } = this;
    for (const ex of examples) {
      if (!(ex.y >= 0 && ex.y < K)) throw new RangeError(`example label index ${ex.y} out of range`);
      // Every array here has K entries, and best, k and ex.y are all in [0, K).
      this.model.predictProba(ex.x, p);
      let best = 0;
      for (let k = 1; k < K; k++) if (p[k]! > p[best]!) best = k;
      this.lossSum -= safeLog(p[ex.y]!);
      this.count++;
      if (best === ex.y) {
        this.correct++;
        tp[best]!++;
      } else {
        fp[best]!++;
        fn[ex.y]!++;
      }
    }
  }

  result(): EvalResult {
    if (this.count === 0) return { accuracy: 0, macroF1: 0, loss: 0, examples: 0 };
    let f1Sum = 0;
    let present = 0;
    for (let k = 0; k < this.tp.length; k++) {
      const t = this.tp[k]!; // k < K
      const denom = 2 * t + this.fp[k]! + this.fn[k]!;
      if (denom === 0) continue;
      present++;
      f1Sum += (2 * t) / denom;
    }
    return {
      accuracy: this.correct / this.count,
      macroF1: present ? f1Sum / present : 0,
      loss: this.lossSum / this.count,
      examples: this.count,
    };
  }
}

/** Accuracy, macro-F1 (over labels that occur in the truth or the predictions) and mean cross-entropy. */
export function evaluate(model: LinearSoftmaxModel, examples: Example[]): EvalResult {
  const acc = new EvalAccumulator(model);
  acc.add(examples);
  return acc.result();
}
