/**
 * Text -> sparse, L2-normalised hashed feature vector (the "hashing trick"): lowercase word
 * unigrams and bigrams plus character 3..5-grams of each word padded with '<' and '>'.
 * No vocabulary to store or ship: the feature space is fixed by `dim` and the hash, so a model
 * trained anywhere featurises identically everywhere.
 */

import { fmix32 } from '../../domain/hash32.js';

export interface SparseVector {
  /** Sorted, unique feature ids in [0, dim). */
  indices: Uint32Array;
  values: Float32Array;
}

export interface FeatureOptions {
  /** Size of the hashed feature space (a power of two keeps the modulo a mask). */
  dim: number;
  /** Smallest and largest character n-gram length; [0, 0] disables character n-grams. */
  charNgrams: [number, number];
  wordBigrams: boolean;
  /** Signed hashing: a hash bit picks ±1 so collisions cancel out in expectation. */
  signed: boolean;
}

export const DEFAULT_FEATURE_OPTIONS: Readonly<FeatureOptions> = Object.freeze({
  dim: 1 << 18,
  charNgrams: [3, 5] as [number, number],
  wordBigrams: true,
  signed: true,
});

export function featureOptions(partial: Partial<FeatureOptions> = {}): FeatureOptions {
  const o: FeatureOptions = {
    ...DEFAULT_FEATURE_OPTIONS,
    charNgrams: [...DEFAULT_FEATURE_OPTIONS.charNgrams] as [number, number],
    ...partial,
  };
  if (!Number.isInteger(o.dim) || o.dim < 2 || o.dim > 2 ** 31)
    throw new RangeError(`dim must be an integer in [2, 2^31], got ${o.dim}`);
  const [lo, hi] = o.charNgrams;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 0 && hi >= lo))
    throw new RangeError(`bad charNgrams [${lo}, ${hi}]`);
  return o;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 code units, continuing from `h` (so a prefix can be hashed once). */
export function fnv1a(s: string, h: number = FNV_OFFSET, from = 0, to = s.length): number {
  for (let i = from; i < to; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

// Distinct starting states keep the word, bigram and char-gram namespaces apart.
const SEED_WORD = fnv1a('w:');
const SEED_BIGRAM = fnv1a('b:');
const SEED_CHAR = fnv1a('c:');

const TOKEN_RE = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

export function tokenize(text: string): string[] {
  return text.toLowerCase().match(TOKEN_RE) ?? [];
}

/**
 * Scratch accumulator reused across calls: a dense Float64Array of `dim` plus the list of touched
 * ids, so featurising costs O(features) and allocates only the result.
 */
interface Scratch {
  dim: number;
  /** Signed counts per feature id (integers: each n-gram adds ±1). */
  acc: Int32Array;
  /** 1 once an id is in `touched`, so a count that cancels back to 0 is not listed twice. */
  seen: Uint8Array;
  touched: Uint32Array;
}
let scratch: Scratch | undefined;

function getScratch(dim: number): Scratch {
  if (!scratch || scratch.dim !== dim)
    scratch = { dim, acc: new Int32Array(dim), seen: new Uint8Array(dim), touched: new Uint32Array(1024) };
  return scratch;
}

export function featurize(text: string, partial?: Partial<FeatureOptions> | FeatureOptions): SparseVector {
  return featurizeTokens(tokenize(text), partial);
}

/** `featurize` on the text's tokens already split (a caller that counts them too splits once). */
export function featurizeTokens(
  tokens: readonly string[],
  partial?: Partial<FeatureOptions> | FeatureOptions,
): SparseVector {
  const opts = partial && isFull(partial) ? partial : featureOptions(partial);
  const { dim, signed, wordBigrams } = opts;
  const [nLo, nHi] = opts.charNgrams;
  const pow2 = (dim & (dim - 1)) === 0;
  const mask = dim - 1;
  const s = getScratch(dim);
  const acc = s.acc;
  const seen = s.seen;
  let touched = s.touched;
  let nTouched = 0;

  const add = (hash: number): void => {
    const h = fmix32(hash);
    const id = pow2 ? h & mask : h % dim;
    const v = signed && h & 0x80000000 ? -1 : 1;
    if (seen[id] === 0) {
      seen[id] = 1;
      if (nTouched === touched.length) {
        const grown = new Uint32Array(touched.length * 2);
        grown.set(touched);
        touched = s.touched = grown;
      }
      touched[nTouched++] = id;
    }
    acc[id]! += v; // id < dim = acc.length
  };

  let prevHash = 0;
  for (const [t, w] of tokens.entries()) {
    add(fnv1a(w, SEED_WORD));
    if (wordBigrams) {
      if (t > 0) {
        // Bigram = hash of "prev word" continued with a separator and this word.
        add(fnv1a(w, Math.imul(prevHash ^ 0x20, FNV_PRIME) >>> 0));
      }
      prevHash = fnv1a(w, SEED_BIGRAM);
    }
    if (nHi > 0) {
      const padded = `<${w}>`;
      const L = padded.length;
      for (let i = 0; i < L; i++) {
        let h = SEED_CHAR;
        const end = Math.min(L, i + nHi);
        for (let j = i; j < end; j++) {
          h = Math.imul(h ^ padded.charCodeAt(j), FNV_PRIME);
          const n = j - i + 1;
          if (n >= nLo) add(h >>> 0);
        }
      }
    }
  }

  // ids holds nTouched feature ids, each < dim = acc.length = seen.length.
  const ids = touched.subarray(0, nTouched).slice().sort();
  const values = new Float32Array(nTouched);
  let norm = 0;
  for (const id of ids) {
    const v = acc[id]!;
    norm += v * v;
  }
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  let out = 0;
  for (let k = 0; k < nTouched; k++) {
    const id = ids[k]!;
    const v = acc[id]!;
    acc[id] = 0; // leave the scratch clean for the next call
    seen[id] = 0;
    const scaled = v * inv;
    if (scaled !== 0) {
      ids[out] = id;
      values[out++] = scaled;
    }
  }
  return { indices: ids.subarray(0, out).slice(), values: values.subarray(0, out).slice() };
}

function isFull(o: Partial<FeatureOptions>): o is FeatureOptions {
  return o.dim !== undefined && o.charNgrams !== undefined && o.wordBigrams !== undefined && o.signed !== undefined;
}

/** Sparse·sparse dot product (both sorted). */
export function sparseDot(a: SparseVector, b: SparseVector): number {
  let i = 0;
  let j = 0;
  let s = 0;
  const ai = a.indices;
  const bi = b.indices;
  // i < ai.length = a.values.length and j < bi.length = b.values.length (SparseVector).
  while (i < ai.length && j < bi.length) {
    const x = ai[i]!;
    const y = bi[j]!;
    if (x === y) s += a.values[i++]! * b.values[j++]!;
    else if (x < y) i++;
    else j++;
  }
  return s;
}
