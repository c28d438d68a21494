/**
 * Sublinear TracIn attribution (TRAK-style search, exact scores). The loss gradient of record i
 * is r_i ⊗ x_i (residual p_i − e_{y_i} over K labels, times the sparse feature vector), and its
 * TracIn score against a query is (r·r_i)(x·x_i). Each record is kept twice, at training time:
 *
 * 1. For candidate search, φ_i = (B r_i) ⊗ (P x_i), where B is an orthonormal basis of the sum-zero
 *    subspace the residuals live in (exact, K−1 dims) and P a seeded ±1/√d random projection of the
 *    hashed features (Johnson–Lindenstrauss). φ_q·φ_i estimates the TracIn score, so the top
 *    proponents are a maximum-inner-product search, served by an HNSW graph over φ by inner
 *    product with f16 vectors (ml/index/ann-index). The older reduction to a cosine search over
 *    ψ_i = [φ_i·g_i/(‖φ_i‖G), √(1 − g_i²/G²)] (g_i = ‖φ_i‖^normPower) is still read: it crowds
 *    most records onto the augmentation coordinate, and the graph then misses half of the top.
 * 2. For scoring, the feature store (ml/index/sparse-store): each record's hashed features as
 *    integer counts and a scale, and B r_i, in features.bin. A call re-ranks the graph's
 *    candidates by their exact TracIn score (B r_q)·(B r_i)·(x_q·x_i).
 *
 * Indexes written before the feature store (format 2) carry a one-bit sketch instead: the signs
 * of v_i = S x_i, a sparse random projection, plus c_i·B r_i with c_i = ‖v_i‖²/‖v_i‖₁, scored
 * by the asymmetric estimator x_q·x_i ≈ c_i·⟨S x_q, sign(v_i)⟩ (RaBitQ). They are still served,
 * re-ranked by that estimate.
 *
 * The artifact is one directory: header.json (parameters, checksums), records.bin (per record:
 * contributor ordinal u32, then the record hashes), features.bin (format 3) or sketch.bin (format
 * 2), and ann.usearch (the HNSW graph, memory-mapped by every API replica). */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmix32 } from '../../domain/hash32.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { AnnIndex, type AnnIndexOptions } from '../index/ann-index.js';
import { DenseQuery, SparseStore, SparseStoreWriter } from '../index/sparse-store.js';
import type { SparseVector } from './features.js';
import type { Attribution } from './influence.js';
import type { LinearSoftmaxModel } from './linear-softmax.js';

/** Format 3 adds the feature store; format 2 indexes (sketch only) are still read and served. */
export const ATTRIBUTION_INDEX_FORMAT = 3;
const READABLE_FORMATS = new Set([2, 3]);

export interface AttributionIndexOptions {
  /**
   * Target width of the projected gradient in the graph: each of the K−1 residual dimensions gets
   * d = max(8, round(projDim / (K−1))) projected feature dimensions (projectionWidth), and the
   * stored vector has (K−1)·d + 1 dimensions, one byte each.
   */
  projDim: number;
  /** Seed of the random projections (fixed: the query must be projected with the same P and S). */
  seed: number;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  /**
   * Keep every record's features and residual in features.bin, so graph candidates are re-ranked
   * by their exact TracIn score (the default). Indexes without it fall back to the sketch.
   */
  featureStore: boolean;
  /**
   * Width W of the one-bit re-rank sketch (a multiple of 8 · sketchNnz); 0 writes none. Only
   * indexes without a feature store are scored by it.
   */
  sketchBits: number;
  /** Signed positions of the sketch each feature is hashed to (one in each of sketchNnz blocks). */
  sketchNnz: number;
  /** Graph candidates re-ranked per call (at least topK). */
  candidates: number;
  /**
   * The graph searches by ‖φ_i‖^normPower instead of ‖φ_i‖ (1 = exact MIPS, 0 = cosine). Residual
   * norms are very skewed (most records are learned, a few are not), so with exact MIPS nearly
   * every stored vector is the augmentation coordinate alone once rounded to i8; a compressed norm
   * keeps their directions apart. Only the candidates are chosen this way: the sketch scores them.
   * Without a sketch the graph's estimate is served, so it is 1.
   */
  normPower: number;
  /** Storage type of the graph's vectors. */
  graphQuantization: 'i8' | 'f16';
  /**
   * 'cos': the graph searches the augmented unit vectors ψ (above). 'ip': it searches φ itself by
   * inner product (needs f16: usearch's i8 cast normalises), no augmentation, no norm compression.
   */
  graphMetric?: 'cos' | 'ip';
}

export const DEFAULT_ATTRIBUTION_INDEX_OPTIONS: Readonly<AttributionIndexOptions> = Object.freeze({
  projDim: 128,
  seed: 0x7ac1,
  connectivity: 8,
  expansionAdd: 64,
  expansionSearch: 96,
  featureStore: true,
  sketchBits: 0,
  sketchNnz: 4,
  candidates: 64,
  normPower: 0.5,
  graphQuantization: 'f16',
  graphMetric: 'ip',
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
  /** The re-rank sketch's layout (absent when sketchBits is 0). */
  sketch?: { bytesPerRecord: number; residualScale: number };
  /** Format 3: features.bin holds each record's features and K−1 residual coordinates (B r_i). */
  features?: { extras: number };
  /**
   * SHA-256 of the augmented f32 vectors given to the graph, in key order. The graph
   * file itself is built on all cores and so differs byte-wise between builds; what it stores does
   * not, and this digest says so (equal for any chunking and thread count).
   */
  contentSha256: string;
  sha256: { records: string; ann: string; sketch?: string; features?: string };
  bytes: { records: number; ann: number; sketch?: number; features?: number };
}

export const attributionIndexKeys = {
  header: (prefix: string) => `${prefix}header.json`,
  records: (prefix: string) => `${prefix}records.bin`,
  ann: (prefix: string) => `${prefix}ann.usearch`,
  sketch: (prefix: string) => `${prefix}sketch.bin`,
  features: (prefix: string) => `${prefix}features.bin`,
};

type DataFile = 'records' | 'ann' | 'sketch' | 'features';

/** The data files of an index (besides header.json) and their checksums, in upload order. */
function dataFiles(header: AttributionIndexHeader): { name: DataFile; sha: string }[] {
  const files: { name: DataFile; sha: string }[] = [
    { name: 'records', sha: header.sha256.records },
    { name: 'ann', sha: header.sha256.ann },
  ];
  if (header.sha256.sketch) files.push({ name: 'sketch', sha: header.sha256.sketch });
  if (header.sha256.features) files.push({ name: 'features', sha: header.sha256.features });
  return files;
}
const fileName = {
  records: 'records.bin',
  ann: 'ann.usearch',
  sketch: 'sketch.bin',
  features: 'features.bin',
} as const;

const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

/** SHA-256 of a file, streamed (the graph of a million records is ~180 MB). */
async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

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

/** The query of the exact re-rank, one per feature dimension for every index of this thread. */
const denseQueries = new Map<number, DenseQuery>();
function denseQuery(dim: number): DenseQuery {
  let q = denseQueries.get(dim);
  if (!q) denseQueries.set(dim, (q = new DenseQuery(dim)));
  return q;
}

/**
 * The projection of one model's gradients: project(x, residual) writes φ into `out`. P is never
 * stored in the artifact: its entries are hash bits of (seed, feature id, block of 32), the same on
 * every machine, computed as each feature is projected. A table of them (featureDim × d bytes, 32 MiB
 * at 2^18 × 128) costs a cache miss per feature, more than the few hashes it saves.
 */
export class GradientProjector {
  readonly K: number;
  readonly d: number;
  readonly dims: number;
  private readonly basis: Float64Array[];
  private readonly z: Float64Array;
  private readonly br: Float64Array;
  private readonly seedMix: number;
  /** −v and v for the feature being projected: a sign bit picks one without a branch. */
  private readonly signed = new Float64Array(2);

  constructor(K: number, d: number, seed: number) {
    if (!Number.isInteger(d) || d < 1) throw new RangeError(`projDim must be a positive integer, got ${d}`);
    this.K = K;
    this.d = d;
    this.dims = (K - 1) * d;
    this.basis = helmertBasis(K);
    this.z = new Float64Array(d);
    this.br = new Float64Array(K - 1);
    this.seedMix = fmix32(seed ^ 0x9e3779b9);
  }

  /** z = P x with P_{j,f} = ±1/√d, the sign bit j mod 32 of hash(seed, f, ⌊j/32⌋). */
  projectFeatures(x: SparseVector, z: Float64Array = this.z): Float64Array {
    const { d, seedMix, signed } = this;
    z.fill(0);
    const idx = x.indices;
    const val = x.values;
    // j < d = z.length; t < idx.length = val.length (SparseVector); signed has 2 entries.
    for (let t = 0; t < idx.length; t++) {
      const v = val[t]!;
      signed[0] = -v;
      signed[1] = v;
      const row = Math.imul(idx[t]! + 1, 0x9e3779b1) ^ seedMix;
      for (let block = 0, j = 0; j < d; block++) {
        const bits = fmix32(row ^ Math.imul(block + 1, 0x85ebca6b));
        const end = Math.min(d, j + 32);
        for (let bit = 0; j < end; j++, bit++) z[j]! += signed[(bits >>> bit) & 1]!;
      }
    }
    const s = 1 / Math.sqrt(d);
    for (let j = 0; j < d; j++) z[j]! *= s;
    return z;
  }

  /** B r: the residual in the orthonormal basis of the sum-zero subspace (K−1 values). */
  residualBasis(residual: ArrayLike<number>, out: Float64Array = this.br): Float64Array {
    const { K, basis } = this;
    // Every row of basis has K entries; residual has K; out has K−1.
    for (let j = 0; j < K - 1; j++) {
      const row = basis[j]!;
      let s = 0;
      for (let k = 0; k < K; k++) s += row[k]! * residual[k]!;
      out[j] = s;
    }
    return out;
  }

  /** φ = (B r) ⊗ (P x) into out[0 .. dims); returns ‖φ‖. */
  project(x: SparseVector, residual: ArrayLike<number>, out: Float32Array, offset = 0): number {
    const { K, d } = this;
    const z = this.projectFeatures(x);
    const br = this.residualBasis(residual);
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

/**
 * The sparse sign projection S of the re-rank sketch: feature f adds ±value/√s at one hashed
 * position in each of s blocks of W/s (distinct positions, so S preserves dot products in
 * expectation), at a cost of s per feature rather than W.
 */
export class FeatureSketch {
  private readonly block: number;
  private readonly seedMix: number;
  private readonly weight: number;

  constructor(
    readonly bits: number,
    readonly nnz: number,
    seed: number,
  ) {
    if (!Number.isInteger(bits) || !Number.isInteger(nnz) || nnz < 1 || bits < 8 * nnz || bits % (8 * nnz) !== 0)
      throw new RangeError(`sketchBits must be a positive multiple of 8 · sketchNnz, got ${bits} and ${nnz}`);
    this.block = bits / nnz;
    this.seedMix = fmix32(seed ^ 0x5bd1e995);
    this.weight = 1 / Math.sqrt(nnz);
  }

  get bytes(): number {
    return this.bits / 8;
  }

  /** v = S x into `v` (length bits). */
  project(x: SparseVector, v: Float64Array): Float64Array {
    const { block, seedMix, weight, nnz } = this;
    v.fill(0);
    const idx = x.indices;
    const val = x.values;
    // pos = s·block + (h mod block) < nnz·block = bits = v.length; t < idx.length = val.length.
    for (let t = 0; t < idx.length; t++) {
      const fh = Math.imul(idx[t]! + 1, 0x9e3779b1) ^ seedMix;
      const w = val[t]! * weight;
      for (let s = 0; s < nnz; s++) {
        const h = fmix32(fh ^ Math.imul(s + 1, 0xc2b2ae35));
        const pos = s * block + ((h >>> 1) % block);
        v[pos]! += h & 1 ? w : -w;
      }
    }
    return v;
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

const HEX64 = /^[0-9a-f]{64}$/;

/** Record hashes as they arrive: 32 bytes each while every hash is a hex digest, else strings. */
class HashList {
  private hex: Uint8Array | undefined = new Uint8Array(0);
  private strings: string[] | undefined;
  private n = 0;

  push(h: string): void {
    if (this.hex && HEX64.test(h)) {
      if ((this.n + 1) * 32 > this.hex.length) {
        const grown = new Uint8Array(Math.max(32 * 1024, this.hex.length * 2));
        grown.set(this.hex);
        this.hex = grown;
      }
      Buffer.from(this.hex.buffer, this.hex.byteOffset, this.hex.length).write(h, this.n * 32, 32, 'hex');
    } else {
      if (this.hex) {
        const hex = Buffer.from(this.hex.buffer, this.hex.byteOffset, this.n * 32);
        this.strings = Array.from({ length: this.n }, (_, i) => hex.toString('hex', i * 32, i * 32 + 32));
        this.hex = undefined;
      }
      this.strings!.push(h);
    }
    this.n++;
  }

  /** records.bin: contributor ordinals (u32 each), then the hashes in their encoding. */
  encode(ordinals: Uint32Array): { buf: Buffer; encoding: 'hex32' | 'utf8' } {
    const n = this.n;
    const ords = Buffer.from(ordinals.buffer, ordinals.byteOffset, n * 4);
    if (this.hex) return { buf: Buffer.concat([ords, this.hex.subarray(0, n * 32)]), encoding: 'hex32' };
    const blobs = this.strings!.map((h) => Buffer.from(h, 'utf8'));
    const offsets = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + blobs[i]!.length;
    return { buf: Buffer.concat([ords, Buffer.from(offsets.buffer), ...blobs]), encoding: 'utf8' };
  }
}

/** Records per graph insertion batch (and per spill write): 4 MiB of f32 vectors at 64 dims. */
const CHUNK = 16_384;

/**
 * Accumulates records one by one (so a caller can stream a manifest through it), then builds the
 * HNSW graph and writes the files to `dir`. Projected gradients are spilled to a scratch file as
 * they are made and read back chunk by chunk for the graph, so memory holds one chunk of vectors,
 * plus per record a norm, a contributor ordinal, the hash (32 bytes) and the sketch.
 */
export class AttributionIndexBuilder {
  readonly options: AttributionIndexOptions;
  private readonly projector: GradientProjector;
  private readonly sketcher: FeatureSketch | undefined;
  private readonly p: Float64Array;
  private readonly v: Float64Array;
  private readonly chunk: Float32Array;
  private inChunk = 0;
  private scratch: { dir: string; fd: number } | undefined;
  private features: SparseStoreWriter | undefined;
  private norms = new Float32Array(0);
  private n = 0;
  private readonly hashes = new HashList();
  private contributorOrdinals = new Uint32Array(0);
  private readonly contributorIds = new Map<string, number>();
  /** Per record: sketch sign bytes, and K−1 residual coordinates (f32 until the scale is known). */
  private signs = new Uint8Array(0);
  private resid = new Float32Array(0);

  constructor(
    private readonly model: LinearSoftmaxModel,
    options: Partial<AttributionIndexOptions> = {},
    private readonly scratchRoot: string = tmpdir(),
  ) {
    this.options = { ...DEFAULT_ATTRIBUTION_INDEX_OPTIONS, ...options };
    const K = model.labels.length;
    this.projector = new GradientProjector(K, projectionWidth(K, this.options.projDim), this.options.seed);
    this.sketcher =
      this.options.sketchBits > 0
        ? new FeatureSketch(this.options.sketchBits, this.options.sketchNnz, this.options.seed)
        : undefined;
    this.p = new Float64Array(K);
    this.v = new Float64Array(Math.max(1, this.options.sketchBits));
    this.chunk = new Float32Array(CHUNK * this.projector.dims);
  }

  get size(): number {
    return this.n;
  }

  private grow(): void {
    const cap = Math.max(1024, this.norms.length * 2);
    const norms = new Float32Array(cap);
    norms.set(this.norms);
    this.norms = norms;
    const ords = new Uint32Array(cap);
    ords.set(this.contributorOrdinals);
    this.contributorOrdinals = ords;
    if (this.sketcher) {
      const signs = new Uint8Array(cap * this.sketcher.bytes);
      signs.set(this.signs);
      this.signs = signs;
      const resid = new Float32Array(cap * (this.projector.K - 1));
      resid.set(this.resid);
      this.resid = resid;
    }
  }

  private scratchDir(): { dir: string; fd: number } {
    if (!this.scratch) {
      const dir = mkdtempSync(join(this.scratchRoot, 'commons-attr-build-'));
      this.scratch = { dir, fd: openSync(join(dir, 'phi.f32'), 'w+') };
    }
    return this.scratch;
  }

  private flush(): void {
    if (this.inChunk === 0) return;
    const scratch = this.scratchDir();
    const bytes = this.inChunk * this.projector.dims * 4;
    const buf = new Uint8Array(this.chunk.buffer, 0, bytes);
    for (let off = 0; off < bytes;) off += writeSync(scratch.fd, buf, off, bytes - off);
    this.inChunk = 0;
  }

  add(r: IndexableRecord): void {
    if (this.n === this.norms.length) this.grow();
    const x = r.x ?? this.model.featurize(r.text);
    residualOf(this.model, x, this.model.labelIndex(r.label), this.p);
    const i = this.n++;
    const dims = this.projector.dims;
    this.norms[i] = this.projector.project(x, this.p, this.chunk, this.inChunk * dims);
    if (++this.inChunk === CHUNK) this.flush();
    if (this.sketcher) this.sketchRecord(i, x);
    if (this.options.featureStore) {
      // Streamed to the scratch directory as they come: memory holds none of them.
      this.features ??= new SparseStoreWriter(join(this.scratchDir().dir, fileName.features), this.projector.K - 1);
      this.features.add(x, this.projector.residualBasis(this.p));
    }
    let c = this.contributorIds.get(r.contributor);
    if (c === undefined) {
      c = this.contributorIds.size;
      this.contributorIds.set(r.contributor, c);
    }
    this.contributorOrdinals[i] = c;
    this.hashes.push(r.hash);
  }

  /** Signs of v = S x, and c·B r with c = ‖v‖²/‖v‖₁ (the RaBitQ correction), for record i. */
  private sketchRecord(i: number, x: SparseVector): void {
    const sk = this.sketcher!;
    const v = sk.project(x, this.v);
    let l1 = 0;
    let l2 = 0;
    const base = i * sk.bytes;
    // j < bits = v.length; base + (j >> 3) < (i + 1) · bytes ≤ signs.length (grown before add).
    for (let j = 0; j < sk.bits; j++) {
      const vj = v[j]!;
      l1 += Math.abs(vj);
      l2 += vj * vj;
      if (vj > 0) this.signs[base + (j >> 3)]! |= 1 << (j & 7);
    }
    const c = l1 > 0 ? l2 / l1 : 0;
    const br = this.projector.residualBasis(this.p);
    const K1 = this.projector.K - 1;
    for (let j = 0; j < K1; j++) this.resid[i * K1 + j] = c * br[j]!;
  }

  /**
   * Builds the graph (usearch's batch insertion on `threads` threads, 0 = every core) and writes
   * header.json, records.bin, sketch.bin and ann.usearch into `dir`.
   */
  async write(
    dir: string,
    onProgress: (p: BuildProgress) => void = () => {},
    threads = 0,
  ): Promise<AttributionIndexHeader> {
    try {
      return await this.writeGraph(dir, onProgress, threads || availableParallelism());
    } finally {
      this.features?.close();
      this.features = undefined;
      if (this.scratch) {
        closeSync(this.scratch.fd);
        rmSync(this.scratch.dir, { recursive: true, force: true });
        this.scratch = undefined;
      }
    }
  }

  private async writeGraph(
    dir: string,
    onProgress: (p: BuildProgress) => void,
    threads: number,
  ): Promise<AttributionIndexHeader> {
    this.flush();
    const n = this.n;
    const dims = this.projector.dims;
    const D = dims + 1;
    let maxNorm = 0;
    for (let i = 0; i < n; i++) if (this.norms[i]! > maxNorm) maxNorm = this.norms[i]!;
    const M = maxNorm > 0 ? maxNorm : 1;
    // ψ_i = [φ_i · g_i/(‖φ_i‖ G), √(1 − g_i²/G²)] with g_i = ‖φ_i‖^power and G = M^power (power 1:
    // the MIPS augmentation).
    const power = this.sketcher || this.options.featureStore ? this.options.normPower : 1;
    const G = M ** power;
    const ann = AnnIndex.create(annOptionsOf(D, this.options));
    const content = createHash('sha256');
    const vecs = new Float32Array(CHUNK * D);
    const keys = new BigUint64Array(CHUNK);
    for (let from = 0; from < n; from += CHUNK) {
      const to = Math.min(n, from + CHUNK);
      const count = to - from;
      const bytes = count * dims * 4;
      const raw = new Uint8Array(this.chunk.buffer, 0, bytes);
      for (let off = 0; off < bytes;) {
        const got = readSync(this.scratch!.fd, raw, off, bytes - off, from * dims * 4 + off);
        if (got === 0) throw new Error('attribution index scratch file is truncated');
        off += got;
      }
      for (let i = 0; i < count; i++) {
        const row = i * D;
        const src = i * dims;
        const norm = this.norms[from + i]!;
        if (this.options.graphMetric === 'ip') {
          for (let t = 0; t < dims; t++) vecs[row + t] = this.chunk[src + t]!;
          vecs[row + dims] = 0;
          keys[i] = BigInt(from + i);
          continue;
        }
        const g = norm > 0 ? norm ** power / G : 0;
        const scale = norm > 0 ? g / norm : 0;
        for (let t = 0; t < dims; t++) vecs[row + t] = this.chunk[src + t]! * scale;
        vecs[row + dims] = Math.sqrt(Math.max(0, 1 - g * g));
        keys[i] = BigInt(from + i);
      }
      const batch = vecs.subarray(0, count * D);
      content.update(new Uint8Array(batch.buffer, batch.byteOffset, batch.byteLength));
      ann.add(keys.subarray(0, count), batch, threads);
      onProgress({ phase: 'graph', done: to, total: n });
      // Let the event loop run (heartbeats, cancellation) between batches.
      await new Promise<void>((res) => setImmediate(res));
    }
    await mkdir(dir, { recursive: true });
    const annPath = join(dir, fileName.ann);
    if (n > 0) ann.save(annPath);
    else await writeFile(annPath, Buffer.alloc(0));
    const annBytes = (await stat(annPath)).size;
    const annSha = await sha256File(annPath);
    const { buf: records, encoding } = this.hashes.encode(this.contributorOrdinals.subarray(0, n));
    await writeFile(join(dir, fileName.records), records);
    const sketch = this.sketcher ? this.encodeSketch() : undefined;
    if (sketch) await writeFile(join(dir, fileName.sketch), sketch.buf);
    const features = this.options.featureStore ? await this.writeFeatures(dir) : undefined;
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
      ...(sketch ? { sketch: { bytesPerRecord: sketch.stride, residualScale: sketch.scale } } : {}),
      ...(features ? { features: { extras: this.projector.K - 1 } } : {}),
      contentSha256: content.digest('hex'),
      sha256: {
        records: sha256(records),
        ann: annSha,
        ...(sketch ? { sketch: sha256(sketch.buf) } : {}),
        ...(features ? { features: features.sha } : {}),
      },
      bytes: {
        records: records.length,
        ann: annBytes,
        ...(sketch ? { sketch: sketch.buf.length } : {}),
        ...(features ? { features: features.bytes } : {}),
      },
    };
    await writeFile(join(dir, 'header.json'), JSON.stringify(header));
    onProgress({ phase: 'write', done: n, total: n });
    return header;
  }

  /** Closes the streamed feature store and moves it from the scratch directory into `dir`. */
  private async writeFeatures(dir: string): Promise<{ sha: string; bytes: number }> {
    const to = join(dir, fileName.features);
    if (!this.features) {
      // No record was added: an empty store is its offsets table alone.
      const empty = new SparseStoreWriter(to, this.projector.K - 1);
      const bytes = empty.finish();
      return { sha: await sha256File(to), bytes };
    }
    const bytes = this.features.finish();
    const from = this.features.path;
    this.features = undefined;
    await rename(from, to).catch(async () => {
      await copyFile(from, to); // the scratch root may be on another file system
    });
    return { sha: await sha256File(to), bytes };
  }

  /** sketch.bin: per record the sign bytes, then K−1 i16 residual coordinates (× residualScale). */
  private encodeSketch(): { buf: Buffer; stride: number; scale: number } {
    const sk = this.sketcher!;
    const n = this.n;
    const K1 = this.projector.K - 1;
    const stride = sk.bytes + 2 * K1;
    let maxAbs = 0;
    for (let i = 0; i < n * K1; i++) maxAbs = Math.max(maxAbs, Math.abs(this.resid[i]!));
    const scale = maxAbs > 0 ? maxAbs / 32767 : 1;
    const buf = Buffer.alloc(n * stride);
    for (let i = 0; i < n; i++) {
      const at = i * stride;
      buf.set(this.signs.subarray(i * sk.bytes, (i + 1) * sk.bytes), at);
      for (let j = 0; j < K1; j++) buf.writeInt16LE(Math.round(this.resid[i * K1 + j]! / scale), at + sk.bytes + 2 * j);
    }
    return { buf, stride, scale };
  }
}

function annOptionsOf(D: number, o: AttributionIndexOptions): AnnIndexOptions {
  return {
    dimensions: D,
    metric: o.graphMetric ?? 'cos',
    quantization: o.graphQuantization ?? 'i8',
    connectivity: o.connectivity,
    expansionAdd: o.expansionAdd,
    expansionSearch: o.expansionSearch,
  };
}

/**
 * A loaded attribution index: the HNSW graph memory-mapped, record metadata and the feature store
 * (or, for a format 2 index, the sketch) in memory.
 */
export class AttributionIndex {
  private readonly projector: GradientProjector;
  private readonly sketcher: FeatureSketch | undefined;
  private readonly query: Float32Array;
  private readonly p: Float64Array;
  private readonly brq: Float64Array;
  private readonly u: Float64Array;
  /** Per sketch byte b and byte value, Σ u_j over the set bits (the query's lookup table). */
  private readonly lut: Float64Array;

  constructor(
    readonly header: AttributionIndexHeader,
    private readonly ann: AnnIndex | undefined,
    private readonly records: Buffer,
    private readonly sketch: Buffer | undefined = undefined,
    private readonly features: SparseStore | undefined = undefined,
  ) {
    const K = header.labels.length;
    this.projector = new GradientProjector(K, projectionWidth(K, header.options.projDim), header.options.seed);
    if (this.projector.dims + 1 !== header.dimensions)
      throw new Error('attribution index header disagrees with its projection dimensions');
    this.query = new Float32Array(header.dimensions);
    this.p = new Float64Array(K);
    this.brq = new Float64Array(K - 1);
    const expected = header.hashEncoding === 'hex32' ? header.size * 36 : header.size * 8 + 4;
    if (records.length < expected) throw new Error('attribution index records are truncated');
    if (header.sketch && sketch) {
      this.sketcher = new FeatureSketch(header.options.sketchBits, header.options.sketchNnz, header.options.seed);
      if (
        header.sketch.bytesPerRecord !== this.sketcher.bytes + 2 * (K - 1) ||
        sketch.length < header.size * header.sketch.bytesPerRecord
      )
        throw new Error('attribution index sketch is truncated or has another layout');
    }
    if (features && (features.size !== header.size || features.extras !== K - 1))
      throw new Error('attribution index feature store disagrees with its header');
    this.u = new Float64Array(this.sketcher ? this.sketcher.bits : 0);
    this.lut = new Float64Array(this.sketcher ? this.sketcher.bytes * 256 : 0);
  }

  get size(): number {
    return this.header.size;
  }

  /** Bytes on disk per record (graph + vectors + hashes + contributor ordinals + sketch + features). */
  get bytesPerRecord(): number {
    const { bytes } = this.header;
    return this.size ? (bytes.ann + bytes.records + (bytes.sketch ?? 0) + (bytes.features ?? 0)) / this.size : 0;
  }

  /**
   * How calls score the graph's candidates: 'exact' (TracIn from the feature store), 'sketch'
   * (format 2 indexes: the one-bit estimate) or 'graph' (no re-rank: the graph's own estimate).
   */
  get scoring(): 'exact' | 'sketch' | 'graph' {
    return this.features ? 'exact' : this.sketcher ? 'sketch' : 'graph';
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
   * the same meaning as attributeWithIndex's default (TracIn, topK scope). The graph's
   * `candidates` nearest records are re-scored, exactly from the feature store (or, in an index
   * without one, by the sketch estimate), and the best topK kept; an index with neither ranks
   * them by the graph's own estimate.
   */
  attribute(model: LinearSoftmaxModel, query: string | SparseVector, topK: number): Attribution {
    return this.attributeBy(model, query, topK, false);
  }

  /**
   * The same score over every record instead of the graph's candidates (O(n): for measuring how
   * much the graph search loses, never for serving). With a feature store this is exact TracIn.
   */
  attributeExhaustive(model: LinearSoftmaxModel, query: string | SparseVector, topK: number): Attribution {
    if (this.scoring === 'graph') throw new Error('exhaustive attribution needs a feature store or a sketch');
    return this.attributeBy(model, query, topK, true);
  }

  private attributeBy(
    model: LinearSoftmaxModel,
    query: string | SparseVector,
    topK: number,
    exhaustive: boolean,
  ): Attribution {
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
    const scoring = this.scoring;
    const candidates =
      scoring === 'graph'
        ? undefined
        : exhaustive
          ? Array.from({ length: this.size }, (_, i) => i)
          : this.ann.search(this.query, Math.max(topK, header.options.candidates)).keys;
    const scored =
      candidates === undefined
        ? this.graphOnly(this.ann.search(this.query, topK), qNorm)
        : scoring === 'exact'
          ? this.rerankExact(x, candidates, topK)
          : this.rerank(x, candidates, topK);
    const records: Attribution['records'] = [];
    const perContributor = new Map<string, number>();
    let total = 0;
    for (const { key, influence } of scored) {
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

  /** The graph's own estimate, nearest first, proponents only. */
  private graphOnly(m: { keys: number[]; distances: Float32Array }, qNorm: number) {
    const out: { key: number; influence: number }[] = [];
    // distances[j] pairs with keys[j] (same length, from one search).
    for (const [j, key] of m.keys.entries()) {
      const similarity = 1 - m.distances[j]!;
      const influence =
        this.header.options.graphMetric === 'ip' ? similarity : similarity * this.header.maxNorm * qNorm;
      if (!(influence > 0)) break; // nearest first: the rest are not proponents either
      out.push({ key, influence });
    }
    return out;
  }

  /** Re-scores candidates by their exact TracIn score (B r_q)·(B r_i)·(x_q·x_i); keeps the best topK proponents. */
  private rerankExact(x: SparseVector, candidates: number[], topK: number) {
    const store = this.features!;
    const q = denseQuery(this.header.featureDim).set(x);
    const brq = this.projector.residualBasis(this.p, this.brq);
    const K1 = brq.length;
    const out: { key: number; influence: number }[] = [];
    for (const key of candidates) {
      let rr = 0;
      for (let j = 0; j < K1; j++) rr += brq[j]! * store.extra(key, j);
      if (rr === 0) continue;
      const influence = rr * store.dot(key, q);
      if (influence > 0) out.push({ key, influence });
    }
    out.sort((a, b) => b.influence - a.influence || a.key - b.key);
    return out.slice(0, topK);
  }

  /** Re-scores candidates by (B r_q)·(c_i B r_i)·⟨u, sign(v_i)⟩ and keeps the best topK proponents. */
  private rerank(x: SparseVector, candidates: number[], topK: number) {
    const sk = this.sketcher!;
    const sketch = this.sketch!;
    const { lut } = this;
    const u = sk.project(x, this.u);
    let sumU = 0;
    // lut[b·256 + v] = Σ of u over the set bits of byte value v at byte b, built in 256 steps per
    // byte from the value with its lowest bit cleared; indices stay below bytes·256 = lut.length.
    for (let b = 0; b < sk.bytes; b++) {
      const base = b * 256;
      lut[base] = 0;
      for (let v = 1; v < 256; v++) lut[base + v] = lut[base + (v & (v - 1))]! + u[b * 8 + (31 - Math.clz32(v & -v))]!;
      sumU += lut[base + 255]!;
    }
    const brq = this.projector.residualBasis(this.p, this.brq);
    const K1 = brq.length;
    const stride = this.header.sketch!.bytesPerRecord;
    const scale = this.header.sketch!.residualScale;
    const out: { key: number; influence: number }[] = [];
    for (const key of candidates) {
      const at = key * stride;
      let rr = 0;
      for (let j = 0; j < K1; j++) rr += brq[j]! * sketch.readInt16LE(at + sk.bytes + 2 * j);
      if (rr === 0) continue;
      let set = 0;
      for (let b = 0; b < sk.bytes; b++) set += lut[b * 256 + sketch[at + b]!]!;
      // ⟨u, sign(v)⟩ = 2·Σ_{set} u − Σ u.
      const influence = rr * scale * (2 * set - sumU);
      if (influence > 0) out.push({ key, influence });
    }
    out.sort((a, b) => b.influence - a.influence || a.key - b.key);
    return out.slice(0, topK);
  }

  /** Opens the files written by AttributionIndexBuilder.write, checking every checksum. */
  static async open(dir: string): Promise<AttributionIndex> {
    const header = JSON.parse(await readFile(join(dir, 'header.json'), 'utf8')) as AttributionIndexHeader;
    return AttributionIndex.openWith(header, dir);
  }

  private static async openWith(header: AttributionIndexHeader, dir: string): Promise<AttributionIndex> {
    if (!READABLE_FORMATS.has(header.format) || header.kind !== 'tracin-projected')
      throw new Error(`unsupported attribution index ${String(header.kind)} v${String(header.format)}`);
    const records = await readFile(join(dir, fileName.records));
    if (sha256(records) !== header.sha256.records) throw new Error('attribution index records fail their checksum');
    let sketch: Buffer | undefined;
    if (header.sha256.sketch) {
      sketch = await readFile(join(dir, fileName.sketch));
      if (sha256(sketch) !== header.sha256.sketch) throw new Error('attribution index sketch fails its checksum');
    }
    let features: SparseStore | undefined;
    if (header.sha256.features && header.features) {
      // Read into memory: Node has no mmap, and the candidates of a call are scattered over it.
      const buf = await readFile(join(dir, fileName.features));
      if (sha256(buf) !== header.sha256.features) throw new Error('attribution index features fail their checksum');
      features = new SparseStore(buf, header.size, header.features.extras);
    }
    const annPath = join(dir, fileName.ann);
    if ((await sha256File(annPath)) !== header.sha256.ann)
      throw new Error('attribution index graph fails its checksum');
    const ann = header.size > 0 ? AnnIndex.view(annPath, annOptionsOf(header.dimensions, header.options)) : undefined;
    return new AttributionIndex(header, ann, records, sketch, features);
  }

  /**
   * Downloads the index under `prefix` into a local cache directory named by its checksums
   * (reused by later loads and other versions with the same bytes), verifies it and memory-maps it.
   */
  static async fromStore(
    store: ArtifactStore,
    prefix: string,
    cacheRoot = DEFAULT_CACHE_ROOT,
  ): Promise<AttributionIndex> {
    const header = JSON.parse(
      (await store.get(attributionIndexKeys.header(prefix))).toString('utf8'),
    ) as AttributionIndexHeader;
    const dir = join(
      cacheRoot,
      [
        header.sha256.ann.slice(0, 32),
        header.sha256.records.slice(0, 16),
        ...(header.sha256.sketch ? [header.sha256.sketch.slice(0, 16)] : []),
        ...(header.sha256.features ? [header.sha256.features.slice(0, 16)] : []),
      ].join('-'),
    );
    const ready = await stat(join(dir, 'header.json')).then(
      () => true,
      () => false,
    );
    if (!ready) {
      // Written to a temporary directory and renamed, so a concurrent loader never sees half a file.
      const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
      await mkdir(tmp, { recursive: true });
      for (const { name, sha } of dataFiles(header)) {
        const body = await store.get(attributionIndexKeys[name](prefix));
        if (sha256(body) !== sha) {
          await rm(tmp, { recursive: true, force: true });
          throw new Error(`attribution index under ${prefix} fails its checksum`);
        }
        await writeFile(join(tmp, fileName[name]), body);
      }
      await writeFile(join(tmp, 'header.json'), JSON.stringify(header));
      await rename(tmp, dir).catch(async (err: unknown) => {
        await rm(tmp, { recursive: true, force: true });
        if (!(await stat(join(dir, 'header.json')).catch(() => undefined))) throw err;
      });
    }
    return AttributionIndex.openWith(header, dir);
  }
}

/** Where indexes are cached when the caller names no directory (the API passes COMMONS_INDEX_CACHE's, infra/config.ts). */
export const DEFAULT_CACHE_ROOT = join(tmpdir(), 'commons-attribution-cache');

/** Uploads the files in `dir` under `prefix` (header last: its presence means complete). */
export async function uploadAttributionIndex(store: ArtifactStore, dir: string, prefix: string): Promise<void> {
  const header = JSON.parse(await readFile(join(dir, 'header.json'), 'utf8')) as AttributionIndexHeader;
  const meta = (sha: string) => ({ contentType: 'application/octet-stream', metadata: { sha256: sha } });
  for (const { name, sha } of dataFiles(header))
    await store.putFile(attributionIndexKeys[name](prefix), join(dir, fileName[name]), meta(sha));
  await store.put(attributionIndexKeys.header(prefix), JSON.stringify(header), { contentType: 'application/json' });
}

/**
 * Copies an index from `fromPrefix` to `toPrefix` (promotion), never overwriting, and verifies
 * every checksum on the copy. Idempotent: an existing, identical copy is accepted.
 */
export async function promoteAttributionIndex(
  store: ArtifactStore,
  fromPrefix: string,
  toPrefix: string,
): Promise<AttributionIndexHeader> {
  const headerBuf = await store.get(attributionIndexKeys.header(fromPrefix));
  const header = JSON.parse(headerBuf.toString('utf8')) as AttributionIndexHeader;
  for (const { name, sha } of dataFiles(header)) {
    const from = attributionIndexKeys[name](fromPrefix);
    const to = attributionIndexKeys[name](toPrefix);
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
