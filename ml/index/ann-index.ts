/**
 * Approximate nearest-neighbour search over dense vectors: a thin wrapper around usearch (HNSW,
 * single-file serialisation, i8/f16 quantisation, memory-mapped viewing). Generic on purpose: the
 * attribution index and any retrieval index store (key, vector) pairs here and keep their own
 * per-key metadata beside it. Keys are dense integers 0..n-1 chosen by the caller.
 */
import { Index as UsearchIndex, type MetricKind, type ScalarKind } from 'usearch';

export type AnnMetric = 'cos' | 'ip' | 'l2sq';
export type AnnQuantization = 'i8' | 'f16' | 'f32';

export interface AnnIndexOptions {
  dimensions: number;
  metric: AnnMetric;
  /**
   * Storage type of the vectors. Note usearch's f32 -> i8 cast scales each vector to unit norm,
   * so i8 suits 'cos' (or vectors the caller has made unit-norm); f16 keeps magnitudes.
   */
  quantization: AnnQuantization;
  /** HNSW neighbours per node (M); level 0 keeps 2M. Bytes per vector grow by ~8M. */
  connectivity?: number;
  /** Beam width while inserting (build quality vs build time). */
  expansionAdd?: number;
  /** Beam width while searching (recall vs latency); at least k. */
  expansionSearch?: number;
}

export const DEFAULT_ANN_OPTIONS = { connectivity: 12, expansionAdd: 64, expansionSearch: 64 } as const;

export interface AnnMatches {
  keys: number[];
  /** Metric distances, ascending (for 'cos': 1 − cosine similarity; for 'ip': 1 − dot product). */
  distances: Float32Array;
}

export class AnnIndex {
  private constructor(
    private readonly inner: UsearchIndex,
    readonly options: Required<AnnIndexOptions>,
  ) {}

  private static make(opts: AnnIndexOptions): AnnIndex {
    if (!Number.isInteger(opts.dimensions) || opts.dimensions < 1)
      throw new RangeError(`ANN index dimensions must be a positive integer, got ${opts.dimensions}`);
    const full: Required<AnnIndexOptions> = { ...DEFAULT_ANN_OPTIONS, ...opts };
    const inner = new UsearchIndex({
      dimensions: full.dimensions,
      metric: full.metric as MetricKind,
      quantization: full.quantization as ScalarKind,
      connectivity: full.connectivity,
      expansion_add: full.expansionAdd,
      expansion_search: full.expansionSearch,
      multi: false,
    });
    return new AnnIndex(inner, full);
  }

  /** An empty index to add vectors to. */
  static create(opts: AnnIndexOptions): AnnIndex {
    return AnnIndex.make(opts);
  }

  /** Memory-maps a saved index: nothing is copied into the heap, pages load as searches touch them. */
  static view(path: string, opts: AnnIndexOptions): AnnIndex {
    const idx = AnnIndex.make(opts);
    idx.inner.view(path);
    return idx;
  }

  /** Reads a saved index fully into memory (writable afterwards). */
  static load(path: string, opts: AnnIndexOptions): AnnIndex {
    const idx = AnnIndex.make(opts);
    idx.inner.load(path);
    return idx;
  }

  get size(): number {
    return Number(this.inner.size());
  }

  /** Adds `keys.length` vectors laid out row-major in `vectors`; `threads` 0 = all cores. */
  add(keys: BigUint64Array, vectors: Float32Array, threads = 0): void {
    if (vectors.length !== keys.length * this.options.dimensions)
      throw new RangeError(`expected ${keys.length} × ${this.options.dimensions} values, got ${vectors.length}`);
    if (keys.length === 0) return;
    this.inner.add(keys, vectors, threads);
  }

  /** The `k` nearest stored vectors to `query`, nearest first (fewer when the index is smaller). */
  search(query: Float32Array, k: number): AnnMatches {
    if (query.length !== this.options.dimensions)
      throw new RangeError(`query has ${query.length} dimensions, index has ${this.options.dimensions}`);
    if (this.size === 0 || k < 1) return { keys: [], distances: new Float32Array(0) };
    const m = this.inner.search(query, k, 1);
    const keys: number[] = [];
    for (const key of m.keys) keys.push(Number(key));
    return { keys, distances: m.distances };
  }

  save(path: string): void {
    this.inner.save(path);
  }
}
