/**
 * Retrieval behind a small interface, so the RAG model does not care how neighbours are found.
 * The built-in index is an exact cosine search over hashed word and character n-gram vectors
 * (ml/embedded/features.ts): no vocabulary, no downloads, deterministic, and fast enough for the
 * tens of thousands of records a Datanet version holds. An approximate index (HNSW) can replace
 * it behind `RetrievalIndex` without touching the model.
 */
import { featurize, featureOptions, sparseDot, type FeatureOptions, type SparseVector } from '../embedded/features.js';

export interface RetrievalHit {
  /** Position of the document in the index. */
  id: number;
  /** Cosine similarity in [-1, 1] (signed hashing can make it slightly negative). */
  score: number;
}

export interface RetrievalIndex {
  readonly size: number;
  /** The `k` documents most similar to `query`, best first (ties by id). */
  search(query: string, k: number): RetrievalHit[];
  /** Similarity of `query` to one document (for ranking candidates not found by search). */
  similarity(query: string, id: number): number;
}

/** Feature settings of the retrieval vectors: a smaller space than the classifier's is plenty here. */
export const RETRIEVAL_FEATURES: Readonly<FeatureOptions> = Object.freeze(
  featureOptions({ dim: 1 << 16, charNgrams: [3, 4], wordBigrams: true, signed: false }),
);

export class ExactCosineIndex implements RetrievalIndex {
  private readonly vectors: SparseVector[];

  constructor(
    documents: readonly string[],
    private readonly features: FeatureOptions = RETRIEVAL_FEATURES,
    vectors?: SparseVector[],
  ) {
    this.vectors = vectors ?? documents.map((d) => featurize(d, features));
  }

  /** An index of documents known only by their vectors (a model that keeps no record text). */
  static ofVectors(vectors: SparseVector[], features: FeatureOptions = RETRIEVAL_FEATURES): ExactCosineIndex {
    return new ExactCosineIndex([], features, vectors);
  }

  /** Document `id`'s vector. */
  vector(id: number): SparseVector {
    const v = this.vectors[id];
    if (!v) throw new RangeError(`no document ${id} in an index of ${this.vectors.length}`);
    return v;
  }

  get size(): number {
    return this.vectors.length;
  }

  embed(text: string): SparseVector {
    return featurize(text, this.features);
  }

  search(query: string, k: number): RetrievalHit[] {
    const q = this.embed(query);
    const hits: RetrievalHit[] = [];
    for (let id = 0; id < this.vectors.length; id++) hits.push({ id, score: sparseDot(q, this.vectors[id]!) });
    hits.sort((a, b) => b.score - a.score || a.id - b.id);
    return hits.slice(0, Math.max(0, k));
  }

  similarity(query: string, id: number): number {
    const v = this.vectors[id];
    if (!v) throw new RangeError(`no document ${id} in an index of ${this.vectors.length}`);
    return sparseDot(this.embed(query), v);
  }
}
