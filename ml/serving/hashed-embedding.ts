/**
 * Dense text embeddings from a document collection, with no model to download: feature-hashed
 * TF-IDF of word unigrams and bigrams folded into a fixed number of dimensions (signed hashing, so
 * collisions cancel in expectation), L2-normalised. The IDF comes from the collection, so every
 * replica serving the same version embeds a text identically, call after call.
 */
import { fnv1a, tokenize } from '../embedded/features.js';

export const EMBEDDING_DIM = 256;

function terms(text: string): string[] {
  const words = tokenize(text);
  const out = [...words];
  for (let i = 1; i < words.length; i++) out.push(`${words[i - 1]} ${words[i]}`);
  return out;
}

export class HashedTfIdf {
  private readonly df = new Map<string, number>();
  private readonly docs: number;

  constructor(
    collection: readonly string[],
    readonly dim = EMBEDDING_DIM,
  ) {
    this.docs = collection.length;
    for (const text of collection) for (const t of new Set(terms(text))) this.df.set(t, (this.df.get(t) ?? 0) + 1);
  }

  private idf(term: string): number {
    return Math.log((1 + this.docs) / (1 + (this.df.get(term) ?? 0))) + 1;
  }

  /** The unit vector of `text` (all zeros for a text without words). */
  embed(text: string): number[] {
    const v = new Float64Array(this.dim);
    const tf = new Map<string, number>();
    for (const t of terms(text)) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [t, count] of tf) {
      const h = fnv1a(t);
      v[h % this.dim]! += (h & 0x80000000 ? -1 : 1) * count * this.idf(t);
    }
    const norm = Math.hypot(...v);
    return [...v].map((x) => (norm > 0 ? x / norm : 0));
  }
}
