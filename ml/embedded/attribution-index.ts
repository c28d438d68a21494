/**
 * Sublinear TracIn attribution (TRAK-style). The loss gradient of record i is r_i ⊗ x_i (residual
 * p_i − e_{y_i} over K labels, times the sparse feature vector), and its TracIn score against a
 * query is (r·r_i)(x·x_i). Each record is compressed once, at training time, to
 *   φ_i = (B r_i) ⊗ (P x_i),
 * where B is an orthonormal basis of the sum-zero subspace the residuals live in (exact, K−1 dims)
 * and P a seeded ±1/√d random projection of the hashed features (Johnson–Lindenstrauss: P x·P x_i
 * estimates x·x_i with error ~1/√d). Then φ_q·φ_i estimates the TracIn score, and the top
 * proponents are a maximum-inner-product search, which the usual augmentation
 *   ψ_i = [φ_i / M, √(1 − ‖φ_i‖²/M²)]   (M = max ‖φ_i‖; query ψ_q = [φ_q, 0])
 * turns into a cosine nearest-neighbour search over unit vectors, served by HNSW (ml/index/ann-index)
 * with i8 vectors (unit norm, so usearch's i8 cast loses nothing but rounding).
 *
 * The artifact is three objects under one prefix: header.json (parameters, checksums), records.bin
 * (per record: contributor ordinal u32, then the record hashes) and ann.usearch (the HNSW graph,
 * memory-mapped by every API replica).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmix32 } from '../../domain/hash32.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { AnnIndex, type AnnIndexOptions } from '../index/ann-index.js';
import type { SparseVector } from './features.js';
import type { Attribution } from './influence.js';
import type { LinearSoftmaxModel } from './linear-softmax.js';

export const ATTRIBUTION_INDEX_FORMAT = 1;

export interface AttributionIndexOptions {
  /**
   * Target width of the projected gradient: each of the K−1 residual dimensions gets
   * d = max(8, round(projDim / (K−1))) projected feature dimensions (projectionWidth), and the
   * stored vector has (K−1)·d + 1 dimensions, one byte each.
   */
  projDim: number;
  /** Seed of the random projection (fixed: the query must be projected with the same P). */
  seed: number;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
}

export const DEFAULT_ATTRIBUTION_INDEX_OPTIONS: Readonly<AttributionIndexOptions> = Object.freeze({
  projDim: 64,
  seed: 0x7ac1,
  connectivity: 12,
  expansionAdd: 64,
  expansionSearch: 96,
});

export interface AttributionIndexHeader {
  format: number;
  kind: 'tracin-projected';
  labels: string[];
  featureDim: number;
  options: AttributionIndexOptions;
  /** Vector dimensions stored in the ANN index ((K−1)·projDim + 1). */
  dimensions: number;
  /** M: the largest ‖φ_i‖, the scale of the MIPS augmentation. */
  maxNorm: number;
  size: number;
  contributors: string[];
  /** 'hex32': every hash is 64 hex digits, stored as 32 bytes; 'utf8': offsets + UTF-8 blob. */
  hashEncoding: 'hex32' | 'utf8';
  sha256: { records: string; ann: string };
  bytes: { records: number; ann: number };
}

export const attributionIndexKeys = {
  header: (prefix: string) => `${prefix}header.json`,
  records: (prefix: string) => `${prefix}records.bin`,
  ann: (prefix: string) => `${prefix}ann.usearch`,
};

const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Projected feature dimensions per residual dimension for K labels. */
export function projectionWidth(K: number, projDim: number): number {
  return Math.max(8, Math.round(projDim / Math.max(1, K - 1)));
}

/** Rows of the Helmert basis of {r : Σ r_k = 0}: B r keeps every dot product of residuals. */
function helmertBasis(K: number): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let j = 1; j < K; j++) {
    const row = new Float64Array(K);
    const c = 1 / Math.sqrt(j * (j + 1));
    for (let k = 0; k < j; k++) row[k] = c;
    row[j] = -j * c;
    rows.push(row);
  }
  return rows;
}

/** ±1 entries of P, one row of d per feature id, shared by every projector with the same shape. */
const signTables = new Map<string, Int8Array>();

function signTable(seed: number, d: number, featureDim: number): Int8Array {
  const key = `${seed}:${d}:${featureDim}`;
  let t = signTables.get(key);
  if (t) return t;
  t = new Int8Array(featureDim * d);
  const seedMix = fmix32(seed ^ 0x9e3779b9);
  const blocks = Math.ceil(d / 32);
  for (let f = 0; f < featureDim; f++) {
    for (let b = 0; b < blocks; b++) {
      const bits = fmix32(Math.imul(f + 1, 0x9e3779b1) ^ seedMix ^ Math.imul(b + 1, 0x85ebca6b));
      const end = Math.min(d, (b + 1) * 32);
      for (let j = b * 32, bit = 0; j < end; j++, bit++) t[f * d + j] = (bits >>> bit) & 1 ? 1 : -1;
    }
  }
  signTables.set(key, t);
  return t;
}

/**
 * The projection of one model's gradients: project(x, residual) writes φ into `out`. P is never
 * stored in the artifact: its entries are hash bits of (seed, feature id, block), the same on every
 * machine; each process expands them once into a featureDim × d table of ±1 (16 MiB at 2^18 × 64).
 */
export class GradientProjector {
  readonly K: number;
  readonly d: number;
  readonly dims: number;
  private readonly basis: Float64Array[];
  private readonly z: Float64Array;
  private readonly br: Float64Array;
  private readonly signs: Int8Array;

  constructor(K: number, d: number, seed: number, featureDim: number) {
    if (!Number.isInteger(d) || d < 1) throw new RangeError(`projDim must be a positive integer, got ${d}`);
    this.K = K;
    this.d = d;
    this.dims = (K - 1) * d;
    this.basis = helmertBasis(K);
    this.z = new Float64Array(d);
    this.br = new Float64Array(K - 1);
    this.signs = signTable(seed, d, featureDim);
  }

  /** z = P x with P_{j,f} = ±1/√d. */
  projectFeatures(x: SparseVector, z: Float64Array = this.z): Float64Array {
    const { d, signs } = this;
    z.fill(0);
    const idx = x.indices;
    const val = x.values;
    // j < d = z.length; t < idx.length = val.length (SparseVector); feature ids are < featureDim,
    // so row + j < featureDim * d = signs.length.
    for (let t = 0; t < idx.length; t++) {
      const row = idx[t]! * d;
      const v = val[t]!;
      for (let j = 0; j < d; j++) z[j]! += v * signs[row + j]!;
    }
    const s = 1 / Math.sqrt(d);
    for (let j = 0; j < d; j++) z[j]! *= s;
    return z;
  }

  /** φ = (B r) ⊗ (P x) into out[0 .. dims); returns ‖φ‖. */
  project(x: SparseVector, residual: ArrayLike<number>, out: Float32Array, offset = 0): number {
    const { K, d, basis, br } = this;
    const z = this.projectFeatures(x);
    // Every row of basis has K entries; residual has K; out has room for dims from offset.
    for (let j = 0; j < K - 1; j++) {
      const row = basis[j]!;
      let s = 0;
      for (let k = 0; k < K; k++) s += row[k]! * residual[k]!;
      br[j] = s;
    }
    let nn = 0;
    for (let j = 0; j < K - 1; j++) {
      const bj = br[j]!;
      const base = offset + j * d;
      for (let t = 0; t < d; t++) {
        const v = bj * z[t]!;
        out[base + t] = v;
        nn += v * v;
      }
    }
    return Math.sqrt(nn);
  }
}

/** Residual p − e_y of `x` under `model` (y = the record's label, or the prediction for a query). */
function residualOf(model: LinearSoftmaxModel, x: SparseVector, y: number | 'predicted', p: Float64Array): number {
  model.predictProba(x, p);
  let label = 0;
  if (y === 'predicted') {
    for (let k = 1; k < p.length; k++) if (p[k]! > p[label]!) label = k;
  } else label = y;
  p[label]! -= 1;
  return label;
}

export interface IndexableRecord {
  hash: string;
  contributor: string;
  label: string;
  /** Text, featurised with the model's options unless `x` is given. */
  text: string;
  x?: SparseVector;
}

export interface BuildProgress {
  phase: 'project' | 'graph' | 'write';
  done: number;
  total: number;
}

/**
 * Accumulates projected gradients record by record (so a caller can stream a manifest through it),
 * then builds the HNSW graph and writes the three files to `dir`. Memory: (dims + 1) floats per
 * record while building, plus the hashes.
 */
export class AttributionIndexBuilder {
  readonly options: AttributionIndexOptions;
  private readonly projector: GradientProjector;
  private readonly p: Float64Array;
  private phi = new Float32Array(0);
  private norms = new Float32Array(0);
  private n = 0;
  private readonly hashes: string[] = [];
  private contributorOrdinals = new Uint32Array(0);
  private readonly contributorIds = new Map<string, number>();

  constructor(
    private readonly model: LinearSoftmaxModel,
    options: Partial<AttributionIndexOptions> = {},
  ) {
    this.options = { ...DEFAULT_ATTRIBUTION_INDEX_OPTIONS, ...options };
    this.projector = new GradientProjector(
      model.labels.length,
      projectionWidth(model.labels.length, this.options.projDim),
      this.options.seed,
      model.dim,
    );
    this.p = new Float64Array(model.labels.length);
  }

  get size(): number {
    return this.n;
  }

  private grow(): void {
    const cap = Math.max(1024, this.norms.length * 2);
    const dims = this.projector.dims;
    const phi = new Float32Array(cap * dims);
    phi.set(this.phi);
    this.phi = phi;
    const norms = new Float32Array(cap);
    norms.set(this.norms);
    this.norms = norms;
    const ords = new Uint32Array(cap);
    ords.set(this.contributorOrdinals);
    this.contributorOrdinals = ords;
  }

  add(r: IndexableRecord): void {
    if (this.n === this.norms.length) this.grow();
    const x = r.x ?? this.model.featurize(r.text);
    residualOf(this.model, x, this.model.labelIndex(r.label), this.p);
    const i = this.n++;
    this.norms[i] = this.projector.project(x, this.p, this.phi, i * this.projector.dims);
    let c = this.contributorIds.get(r.contributor);
    if (c === undefined) {
      c = this.contributorIds.size;
      this.contributorIds.set(r.contributor, c);
    }
    this.contributorOrdinals[i] = c;
    this.hashes.push(r.hash);
  }

  /** Builds the graph and writes header.json, records.bin and ann.usearch into `dir`. */
  async write(
    dir: string,
    onProgress: (p: BuildProgress) => void = () => {},
    threads = 0,
  ): Promise<AttributionIndexHeader> {
    const n = this.n;
    const dims = this.projector.dims;
    const D = dims + 1;
    let maxNorm = 0;
    for (let i = 0; i < n; i++) if (this.norms[i]! > maxNorm) maxNorm = this.norms[i]!;
    const M = maxNorm > 0 ? maxNorm : 1;
    const annOpts = this.annOptions(D);
    const ann = AnnIndex.create(annOpts);
    // Add in chunks so progress is visible and the augmented copy stays small.
    const chunk = 16384;
    for (let from = 0; from < n; from += chunk) {
      const to = Math.min(n, from + chunk);
      const vecs = new Float32Array((to - from) * D);
      const keys = new BigUint64Array(to - from);
      for (let i = from; i < to; i++) {
        const row = (i - from) * D;
        const src = i * dims;
        for (let t = 0; t < dims; t++) vecs[row + t] = this.phi[src + t]! / M;
        const nn = this.norms[i]! / M;
        vecs[row + dims] = Math.sqrt(Math.max(0, 1 - nn * nn));
        keys[i - from] = BigInt(i);
      }
      ann.add(keys, vecs, threads);
      onProgress({ phase: 'graph', done: to, total: n });
    }
    await mkdir(dir, { recursive: true });
    const annPath = join(dir, 'ann.usearch');
    if (n > 0) ann.save(annPath);
    else await writeFile(annPath, Buffer.alloc(0));
    const annBytes = await readFile(annPath);
    const { buf: records, encoding } = encodeRecords(this.hashes, this.contributorOrdinals.subarray(0, n));
    await writeFile(join(dir, 'records.bin'), records);
    const header: AttributionIndexHeader = {
      format: ATTRIBUTION_INDEX_FORMAT,
      kind: 'tracin-projected',
      labels: [...this.model.labels],
      featureDim: this.model.dim,
      options: this.options,
      dimensions: D,
      maxNorm: M,
      size: n,
      contributors: [...this.contributorIds.keys()],
      hashEncoding: encoding,
      sha256: { records: sha256(records), ann: sha256(annBytes) },
      bytes: { records: records.length, ann: annBytes.length },
    };
    await writeFile(join(dir, 'header.json'), JSON.stringify(header));
    onProgress({ phase: 'write', done: n, total: n });
    return header;
  }

  private annOptions(D: number): AnnIndexOptions {
    return annOptionsOf(D, this.options);
  }
}

function annOptionsOf(D: number, o: AttributionIndexOptions): AnnIndexOptions {
  return {
    dimensions: D,
    metric: 'cos',
    quantization: 'i8',
    connectivity: o.connectivity,
    expansionAdd: o.expansionAdd,
    expansionSearch: o.expansionSearch,
  };
}

const HEX64 = /^[0-9a-f]{64}$/;

function encodeRecords(hashes: string[], ordinals: Uint32Array): { buf: Buffer; encoding: 'hex32' | 'utf8' } {
  const n = hashes.length;
  const ords = Buffer.from(ordinals.buffer, ordinals.byteOffset, n * 4);
  if (hashes.every((h) => HEX64.test(h))) {
    const out = Buffer.allocUnsafe(n * 4 + n * 32);
    ords.copy(out, 0);
    for (const [i, h] of hashes.entries()) out.write(h, n * 4 + i * 32, 32, 'hex');
    return { buf: out, encoding: 'hex32' };
  }
  const blobs = hashes.map((h) => Buffer.from(h, 'utf8'));
  const offsets = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + blobs[i]!.length;
  return {
    buf: Buffer.concat([ords, Buffer.from(offsets.buffer), ...blobs]),
    encoding: 'utf8',
  };
}

/** A loaded attribution index: the HNSW graph memory-mapped, record metadata in memory. */
export class AttributionIndex {
  private readonly projector: GradientProjector;
  private readonly query: Float32Array;
  private readonly p: Float64Array;

  constructor(
    readonly header: AttributionIndexHeader,
    private readonly ann: AnnIndex | undefined,
    private readonly records: Buffer,
  ) {
    const K = header.labels.length;
    this.projector = new GradientProjector(
      K,
      projectionWidth(K, header.options.projDim),
      header.options.seed,
      header.featureDim,
    );
    if (this.projector.dims + 1 !== header.dimensions)
      throw new Error('attribution index header disagrees with its projection dimensions');
    this.query = new Float32Array(header.dimensions);
    this.p = new Float64Array(K);
    const expected = header.hashEncoding === 'hex32' ? header.size * 36 : header.size * 8 + 4;
    if (records.length < expected) throw new Error('attribution index records are truncated');
  }

  get size(): number {
    return this.header.size;
  }

  /** Bytes on disk per record (graph + vectors + hashes + contributor ordinals). */
  get bytesPerRecord(): number {
    return this.size ? (this.header.bytes.ann + this.header.bytes.records) / this.size : 0;
  }

  hashOf(i: number): string {
    const n = this.header.size;
    if (this.header.hashEncoding === 'hex32') return this.records.toString('hex', n * 4 + i * 32, n * 4 + i * 32 + 32);
    const offsetsAt = n * 4;
    const from = this.records.readUInt32LE(offsetsAt + i * 4);
    const to = this.records.readUInt32LE(offsetsAt + (i + 1) * 4);
    const blob = offsetsAt + (n + 1) * 4;
    return this.records.toString('utf8', blob + from, blob + to);
  }

  contributorOf(i: number): string {
    const c = this.header.contributors[this.records.readUInt32LE(i * 4)];
    if (c === undefined) throw new Error(`attribution index record ${i} names no contributor`);
    return c;
  }

  /**
   * The topK proponents of the model's answer to `query` and per-contributor weights over them:
   * the same meaning as attributeWithIndex's default (TracIn, topK scope), estimated.
   */
  attribute(model: LinearSoftmaxModel, query: string | SparseVector, topK: number): Attribution {
    const { header } = this;
    if (header.labels.join('\u0000') !== model.labels.join('\u0000'))
      throw new RangeError('attribution index was built for a different label set');
    if (header.featureDim !== model.dim)
      throw new RangeError('attribution index was built for a different feature dimension');
    const empty: Attribution = { contributors: [], records: [] };
    if (!this.ann || topK < 1 || this.size === 0) return empty;
    const x = typeof query === 'string' ? model.featurize(query) : query;
    residualOf(model, x, 'predicted', this.p);
    this.query.fill(0);
    const qNorm = this.projector.project(x, this.p, this.query);
    if (!(qNorm > 0)) return empty;
    const m = this.ann.search(this.query, topK);
    const records: Attribution['records'] = [];
    const perContributor = new Map<string, number>();
    let total = 0;
    // distances[j] pairs with keys[j] (same length, from one search).
    for (const [j, key] of m.keys.entries()) {
      const influence = (1 - m.distances[j]!) * header.maxNorm * qNorm;
      if (!(influence > 0)) break; // nearest first: the rest are not proponents either
      const contributor = this.contributorOf(key);
      records.push({ hash: this.hashOf(key), contributor, influence });
      perContributor.set(contributor, (perContributor.get(contributor) ?? 0) + influence);
      total += influence;
    }
    const contributors = [...perContributor]
      .map(([contributor, sum]) => ({ contributor, weight: sum / total }))
      .sort((a, b) => b.weight - a.weight || (a.contributor < b.contributor ? -1 : 1));
    return { contributors, records };
  }

  /** Opens the three files written by AttributionIndexBuilder.write, checking both checksums. */
  static async open(dir: string): Promise<AttributionIndex> {
    const header = JSON.parse(await readFile(join(dir, 'header.json'), 'utf8')) as AttributionIndexHeader;
    return AttributionIndex.openWith(header, dir);
  }

  private static async openWith(header: AttributionIndexHeader, dir: string): Promise<AttributionIndex> {
    if (header.format !== ATTRIBUTION_INDEX_FORMAT || header.kind !== 'tracin-projected')
      throw new Error(`unsupported attribution index ${String(header.kind)} v${String(header.format)}`);
    const records = await readFile(join(dir, 'records.bin'));
    if (sha256(records) !== header.sha256.records) throw new Error('attribution index records fail their checksum');
    const annPath = join(dir, 'ann.usearch');
    if (sha256(await readFile(annPath)) !== header.sha256.ann)
      throw new Error('attribution index graph fails its checksum');
    const ann = header.size > 0 ? AnnIndex.view(annPath, annOptionsOf(header.dimensions, header.options)) : undefined;
    return new AttributionIndex(header, ann, records);
  }

  /**
   * Downloads the index under `prefix` into a local cache directory named by the graph's checksum
   * (reused by later loads and other versions with the same bytes), verifies it and memory-maps it.
   */
  static async fromStore(
    store: ArtifactStore,
    prefix: string,
    cacheRoot = defaultCacheRoot(),
  ): Promise<AttributionIndex> {
    const header = JSON.parse(
      (await store.get(attributionIndexKeys.header(prefix))).toString('utf8'),
    ) as AttributionIndexHeader;
    const dir = join(cacheRoot, `${header.sha256.ann.slice(0, 32)}-${header.sha256.records.slice(0, 16)}`);
    const ready = await stat(join(dir, 'header.json')).then(
      () => true,
      () => false,
    );
    if (!ready) {
      // Written to a temporary directory and renamed, so a concurrent loader never sees half a file.
      const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
      await mkdir(tmp, { recursive: true });
      const [records, ann] = await Promise.all([
        store.get(attributionIndexKeys.records(prefix)),
        store.get(attributionIndexKeys.ann(prefix)),
      ]);
      if (sha256(records) !== header.sha256.records || sha256(ann) !== header.sha256.ann)
        throw new Error(`attribution index under ${prefix} fails its checksum`);
      await writeFile(join(tmp, 'records.bin'), records);
      await writeFile(join(tmp, 'ann.usearch'), ann);
      await writeFile(join(tmp, 'header.json'), JSON.stringify(header));
      await rename(tmp, dir).catch(async (err: unknown) => {
        await rm(tmp, { recursive: true, force: true });
        if (!(await stat(join(dir, 'header.json')).catch(() => undefined))) throw err;
      });
    }
    return AttributionIndex.openWith(header, dir);
  }
}

export function defaultCacheRoot(): string {
  return process.env.COMMONS_INDEX_CACHE ?? join(tmpdir(), 'commons-attribution-cache');
}

/** Uploads the three files in `dir` under `prefix` (header last: its presence means complete). */
export async function uploadAttributionIndex(store: ArtifactStore, dir: string, prefix: string): Promise<void> {
  const header = JSON.parse(await readFile(join(dir, 'header.json'), 'utf8')) as AttributionIndexHeader;
  const meta = (sha: string) => ({ contentType: 'application/octet-stream', metadata: { sha256: sha } });
  await store.putFile(attributionIndexKeys.records(prefix), join(dir, 'records.bin'), meta(header.sha256.records));
  await store.putFile(attributionIndexKeys.ann(prefix), join(dir, 'ann.usearch'), meta(header.sha256.ann));
  await store.put(attributionIndexKeys.header(prefix), JSON.stringify(header), { contentType: 'application/json' });
}

/**
 * Copies an index from `fromPrefix` to `toPrefix` (promotion), never overwriting, and verifies
 * both checksums on the copy. Idempotent: an existing, identical copy is accepted.
 */
export async function promoteAttributionIndex(
  store: ArtifactStore,
  fromPrefix: string,
  toPrefix: string,
): Promise<AttributionIndexHeader> {
  const headerBuf = await store.get(attributionIndexKeys.header(fromPrefix));
  const header = JSON.parse(headerBuf.toString('utf8')) as AttributionIndexHeader;
  for (const [key, sha] of [
    ['records', header.sha256.records],
    ['ann', header.sha256.ann],
  ] as const) {
    const from = attributionIndexKeys[key](fromPrefix);
    const to = attributionIndexKeys[key](toPrefix);
    if (!(await store.head(to)))
      await store.copy(from, to, { ifNoneMatch: true }).catch(async (err: unknown) => {
        if (!(await store.head(to))) throw err;
      });
    if (sha256(await store.get(to)) !== sha) throw new Error(`checksum mismatch after promoting ${to}`);
  }
  const headerTo = attributionIndexKeys.header(toPrefix);
  if (!(await store.head(headerTo)))
    await store
      .put(headerTo, headerBuf, { ifNoneMatch: true, contentType: 'application/json' })
      .catch(async (err: unknown) => {
        if (!(await store.head(headerTo))) throw err;
      });
  return header;
}
