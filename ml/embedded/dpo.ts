/**
 * Direct Preference Optimisation for the classifier, where a prompt's "output" is a label.
 *
 * Per pair: L = -w · log σ(β·Δ), Δ = (log πθ(yw|x) − log πref(yw|x)) − (log πθ(yl|x) − log πref(yl|x)).
 * With z = Wx + b, ∂log πθ(y|x)/∂z = e_y − p, so ∂Δ/∂z = e_yw − e_yl (the softmax terms cancel) and
 * ∂L/∂z = −w·β·σ(−βΔ)·(e_yw − e_yl): only rows yw and yl change, and only at x's non-zero ids.
 */
import type { SparseVector } from './features.js';
import { safeLog, throwIfAborted, type LinearSoftmaxModel } from './linear-softmax.js';
import { epochPermutation } from '../../domain/prng.js';

export interface DpoPair {
  x: SparseVector;
  chosen: number;
  rejected: number;
  weight: number;
}

export interface DpoOptions {
  epochs: number;
  learningRate: number;
  beta: number;
  batchSize: number;
  seed: number;
  /** Pulls the policy back toward the reference: adds (l2/2)·‖θ − θref‖² to the loss. */
  l2?: number;
  onStep?(step: number, totalSteps: number, epoch: number, loss: number): void | Promise<void>;
  signal?: AbortSignal;
}

/** log softmax(Wx + b) at labels `a` and `b`, which the caller has checked are in [0, labels). */
function logSoftmaxAt(
  model: LinearSoftmaxModel,
  x: SparseVector,
  a: number,
  b: number,
  buf: Float64Array,
): [number, number] {
  const z = model.logits(x, buf);
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  let sum = 0;
  for (const v of z) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return [z[a]! - lse, z[b]! - lse];
}

/** log σ(t), stable for large |t|. */
function logSigmoid(t: number): number {
  return t >= 0 ? -Math.log1p(Math.exp(-t)) : t - Math.log1p(Math.exp(t));
}

function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

/** The DPO loss of one pair under `policy` (for tests and reporting). */
export function dpoPairLoss(
  policy: LinearSoftmaxModel,
  reference: LinearSoftmaxModel,
  pair: DpoPair,
  beta: number,
): number {
  const K = policy.labels.length;
  if (!(pair.chosen >= 0 && pair.chosen < K && pair.rejected >= 0 && pair.rejected < K))
    throw new RangeError('preference label index out of range');
  const buf = new Float64Array(K);
  const [pw, pl] = logSoftmaxAt(policy, pair.x, pair.chosen, pair.rejected, buf);
  const [rw, rl] = logSoftmaxAt(reference, pair.x, pair.chosen, pair.rejected, buf);
  return -pair.weight * logSigmoid(beta * (pw - rw - (pl - rl)));
}

/** Runs DPO on `policy` in place (the reference is never modified); returns the mean loss per epoch. */
export async function dpoEpochs(
  policy: LinearSoftmaxModel,
  reference: LinearSoftmaxModel,
  pairs: DpoPair[],
  opts: DpoOptions,
): Promise<number[]> {
  if (policy.labels.join('\u0000') !== reference.labels.join('\u0000') || policy.dim !== reference.dim) {
    throw new RangeError('policy and reference must share labels and feature dimension');
  }
  const K = policy.labels.length;
  for (const p of pairs) {
    if (!(p.chosen >= 0 && p.chosen < K && p.rejected >= 0 && p.rejected < K))
      throw new RangeError('preference label index out of range');
    if (p.chosen === p.rejected) throw new RangeError('a preference pair needs two different labels');
  }
  policy.foldScale();
  const ref = reference.clone();
  ref.foldScale();
  const { beta, learningRate: lr, seed } = opts;
  const l2 = opts.l2 ?? 0;
  const batchSize = Math.max(1, Math.floor(opts.batchSize));
  const n = pairs.length;
  const perEpoch = Math.ceil(n / batchSize);
  const totalSteps = perEpoch * opts.epochs;
  const dim = policy.dim;
  const w = policy.weights;
  const buf = new Float64Array(K);
  const coefs = new Float64Array(batchSize);
  const epochLosses: number[] = [];

  let step = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const perm = epochPermutation(n, seed, epoch);
    let epochLoss = 0;
    for (let from = 0; from < n; from += batchSize) {
      throwIfAborted(opts.signal);
      const to = Math.min(n, from + batchSize);
      const b = to - from;
      let loss = 0;
      // Indices below are in range: perm is a permutation of [0, n) and from + i < to <= n; coefs
      // has batchSize >= b entries; chosen and rejected are < K (checked above); ref.weights has
      // the policy's shape; feature ids are < dim and j < idx.length = val.length (SparseVector).
      // Forward for the whole batch first so every gradient uses the same weights.
      for (let i = 0; i < b; i++) {
        const pair = pairs[perm[from + i]!]!;
        const [pw, pl] = logSoftmaxAt(policy, pair.x, pair.chosen, pair.rejected, buf);
        const [rw, rl] = logSoftmaxAt(ref, pair.x, pair.chosen, pair.rejected, buf);
        const margin = beta * (pw - rw - (pl - rl));
        loss -= pair.weight * logSigmoid(margin);
        // −∂L/∂z_yw = w·β·σ(−margin); −∂L/∂z_yl is its negative.
        coefs[i] = pair.weight * beta * sigmoid(-margin);
      }
      if (l2 > 0) {
        // Decay toward the reference: θ ← θ − lr·l2·(θ − θref).
        const d = lr * l2;
        const rw = ref.weights;
        for (let j = 0; j < w.length; j++) w[j]! -= d * (w[j]! - rw[j]!);
        for (let k = 0; k < K; k++) policy.bias[k]! -= d * (policy.bias[k]! - ref.bias[k]!);
      }
      for (let i = 0; i < b; i++) {
        const pair = pairs[perm[from + i]!]!;
        const c = (lr / b) * coefs[i]!;
        const rowW = pair.chosen * dim;
        const rowL = pair.rejected * dim;
        const idx = pair.x.indices;
        const val = pair.x.values;
        for (let j = 0; j < idx.length; j++) {
          w[rowW + idx[j]!]! += c * val[j]!;
          w[rowL + idx[j]!]! -= c * val[j]!;
        }
        policy.bias[pair.chosen]! += c;
        policy.bias[pair.rejected]! -= c;
      }
      epochLoss += loss;
      step++;
      if (opts.onStep) await opts.onStep(step, totalSteps, epoch, loss / b);
    }
    epochLosses.push(n > 0 ? epochLoss / n : 0);
  }
  return epochLosses;
}

/** Mean log-probability gap log πθ(y|x) − log πref(y|x), a quick "did DPO move it" diagnostic. */
export function logProbShift(
  policy: LinearSoftmaxModel,
  reference: LinearSoftmaxModel,
  x: SparseVector,
  y: number,
): number {
  const pp = policy.predictProba(x);
  const rp = reference.predictProba(x);
  const [py, ry] = [pp[y], rp[y]];
  if (py === undefined || ry === undefined) throw new RangeError(`label index ${y} out of range`);
  return safeLog(py) - safeLog(ry);
}
