/**
 * TracIn-style attribution for the sparse linear softmax model. The cross-entropy gradient wrt W
 * for input x and label y is (p − e_y) ⊗ x, so the dot product of two such gradients factorises:
 * ⟨(p − e_ŷ) ⊗ x, (p_i − e_{y_i}) ⊗ x_i⟩ = ((p − e_ŷ)·(p_i − e_{y_i})) · (x·x_i).
 * Residuals p_i − e_{y_i} and the x_i are computed once per model; an inverted index over feature ids
 * means a query only touches records that share at least one feature with it.
 */
import type { SparseVector } from './features.js';
import type { LinearSoftmaxModel } from './linear-softmax.js';

export interface InfluenceRecord {
  hash: string;
  contributor: string;
  text: string;
  label: string;
  /** Precomputed features (must come from the same feature options as the model). */
  x?: SparseVector;
}

export interface InfluenceOptions {
  /**
   * 'tracin': the raw gradient dot product (confidently learned records have small gradients and
   * earn little). 'cosine': the dot product divided by both gradient norms, so a training record
   * identical to the query always scores the maximum, 1.
   */
  mode?: 'tracin' | 'cosine';
  /**
   * Which proponents the contributor weights sum over. 'topK' (default): the topK most influential
   * records, so a record that really shaped the answer is not drowned by a long tail of weakly
   * related ones. 'all': every record with positive influence (plain TracIn aggregation).
   */
  contributorScope?: 'topK' | 'all';
}

export interface InfluenceIndex {
  readonly size: number;
  readonly labels: string[];
  readonly hashes: string[];
  readonly contributors: string[];
  /** n × K residuals p_i − e_{y_i}, row-major. */
  readonly residuals: Float32Array;
  /** ‖(p_i − e_{y_i}) ⊗ x_i‖ per record, for the cosine mode. */
  readonly gradNorms: Float32Array;
  /** CSR by feature id: postings of feature f are [offsets[f], offsets[f+1]). */
  readonly offsets: Uint32Array;
  readonly postingRecord: Uint32Array;
  readonly postingValue: Float32Array;
}

export interface Attribution {
  contributors: { contributor: string; weight: number }[];
  records: { hash: string; contributor: string; influence: number }[];
}

export function prepareInfluenceIndex(model: LinearSoftmaxModel, records: InfluenceRecord[]): InfluenceIndex {
  const n = records.length;
  const K = model.labels.length;
  const dim = model.dim;
  const xs: SparseVector[] = [];
  const residuals = new Float32Array(n * K);
  const gradNorms = new Float32Array(n);
  const counts = new Uint32Array(dim + 1);
  const p = new Float64Array(K);
  // Indices below are in range: p has K entries (k < K); feature ids are < dim, so counts[id + 1]
  // and cursor[id] exist; j < x.indices.length = x.values.length (SparseVector); f < dim.
  for (const [i, r] of records.entries()) {
    const x = r.x ?? model.featurize(r.text);
    xs.push(x);
    const y = model.labelIndex(r.label);
    model.predictProba(x, p);
    let rr = 0;
    for (let k = 0; k < K; k++) {
      const g = p[k]! - (k === y ? 1 : 0);
      residuals[i * K + k] = g;
      rr += g * g;
    }
    let xx = 0;
    for (const v of x.values) xx += v * v;
    gradNorms[i] = Math.sqrt(rr * xx);
    for (const id of x.indices) counts[id + 1]!++;
  }
  // Prefix sums -> offsets, then fill postings in record order (so each list is sorted by record).
  const offsets = counts;
  for (let f = 0; f < dim; f++) offsets[f + 1]! += offsets[f]!;
  const nnz = offsets[dim]!;
  const postingRecord = new Uint32Array(nnz);
  const postingValue = new Float32Array(nnz);
  const cursor = offsets.slice(0, dim);
  for (const [i, x] of xs.entries()) {
    for (let j = 0; j < x.indices.length; j++) {
      const at = cursor[x.indices[j]!]!++;
      postingRecord[at] = i;
      postingValue[at] = x.values[j]!;
    }
  }
  return {
    size: n,
    labels: [...model.labels],
    hashes: records.map((r) => r.hash),
    contributors: records.map((r) => r.contributor),
    residuals,
    gradNorms,
    offsets,
    postingRecord,
    postingValue,
  };
}

export function attributeWithIndex(
  index: InfluenceIndex,
  model: LinearSoftmaxModel,
  query: string,
  topK: number,
  opts: InfluenceOptions = {},
): Attribution {
  const K = model.labels.length;
  if (index.labels.join('\u0000') !== model.labels.join('\u0000'))
    throw new RangeError('influence index was built for a different label set');
  const n = index.size;
  if (index.hashes.length !== n || index.contributors.length !== n || index.gradNorms.length !== n)
    throw new RangeError('influence index is inconsistent: per-record arrays differ from its size');
  if (index.offsets.length !== model.dim + 1)
    throw new RangeError('influence index was built for a different feature dimension');
  const x = model.featurize(query);
  const p = model.predictProba(x);
  // Indices below are in range: p, r and each residual row have K entries (k, yHat < K); the
  // query's feature ids are < dim and offsets has dim + 1 entries; postings hold record ids < n,
  // the length of dots, seen, gradNorms, hashes and contributors (checked above);
  // j < x.indices.length = x.values.length (SparseVector).
  let yHat = 0;
  for (let k = 1; k < K; k++) if (p[k]! > p[yHat]!) yHat = k;
  const r = new Float64Array(K);
  let rr = 0;
  for (let k = 0; k < K; k++) {
    const rk = p[k]! - (k === yHat ? 1 : 0);
    r[k] = rk;
    rr += rk * rk;
  }
  let xx = 0;
  for (const v of x.values) xx += v * v;
  const queryNorm = Math.sqrt(rr * xx);

  // x·x_i for every record sharing a feature with the query.
  const dots = new Float64Array(n);
  const seen = new Uint8Array(n);
  const touched: number[] = [];
  const { offsets, postingRecord, postingValue } = index;
  for (let j = 0; j < x.indices.length; j++) {
    const f = x.indices[j]!;
    const xv = x.values[j]!;
    for (let at = offsets[f]!, end = offsets[f + 1]!; at < end; at++) {
      const i = postingRecord[at]!;
      if (!seen[i]) {
        seen[i] = 1;
        touched.push(i);
      }
      dots[i]! += xv * postingValue[at]!;
    }
  }

  const cosine = opts.mode === 'cosine';
  const positive: { i: number; influence: number }[] = [];
  for (const i of touched) {
    let rd = 0;
    const base = i * K;
    for (let k = 0; k < K; k++) rd += r[k]! * index.residuals[base + k]!;
    let influence = rd * dots[i]!;
    if (cosine) {
      const denom = queryNorm * index.gradNorms[i]!;
      influence = denom > 0 ? influence / denom : 0;
    }
    if (!(influence > 0)) continue; // only proponents earn attribution
    positive.push({ i, influence });
  }

  positive.sort((a, b) => b.influence - a.influence || a.i - b.i);
  const perContributor = new Map<string, number>();
  let total = 0;
  const top = positive.slice(0, Math.max(0, topK));
  for (const { i, influence } of opts.contributorScope === 'all' ? positive : top) {
    const c = index.contributors[i]!;
    perContributor.set(c, (perContributor.get(c) ?? 0) + influence);
    total += influence;
  }
  const contributors = [...perContributor]
    .map(([contributor, sum]) => ({ contributor, weight: sum / total }))
    .sort((a, b) => b.weight - a.weight || (a.contributor < b.contributor ? -1 : 1));
  return {
    contributors,
    records: top.map(({ i, influence }) => ({
      hash: index.hashes[i]!,
      contributor: index.contributors[i]!,
      influence,
    })),
  };
}

/** One-shot convenience; for many queries build the index once with prepareInfluenceIndex. */
export function attribute(
  model: LinearSoftmaxModel,
  query: string,
  records: InfluenceRecord[],
  topK: number,
  opts: InfluenceOptions = {},
): Attribution {
  return attributeWithIndex(prepareInfluenceIndex(model, records), model, query, topK, opts);
}
