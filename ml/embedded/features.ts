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
 * Scratch list of the n-grams of one text, reused across calls: each n-gram is one entry
 * `id · 2 + (1 when its sign is −1)`, so sorting the list groups every feature's n-grams together.
 * Appending and then radix-sorting a short list keeps the work in cache: a dense accumulator of
 * `dim` counts (1 MiB at 2^18) costs a cache miss per n-gram, and TypedArray.prototype.sort alone
 * took longer than hashing every n-gram of the text.
 */
let scratch = new Uint32Array(4096);
let spare = new Uint32Array(4096);
const digitCounts = new Uint32Array(1 << 11);

/** Sorts `a[0..m)` ascending, keys below 2^keyBits: LSD radix sort in as few ≤ 11-bit passes as it takes. */
function radixSort(a: Uint32Array, tmp: Uint32Array, m: number, keyBits: number): Uint32Array {
  const passes = Math.max(1, Math.ceil(keyBits / 11));
  const width = Math.ceil(keyBits / passes);
  const digits = 1 << width;
  const digitMask = digits - 1;
  let src = a;
  let dst = tmp;
  // Indices below are < m <= a.length = tmp.length, or a digit < 2^width <= digitCounts.length.
  for (let shift = 0; shift < keyBits; shift += width) {
    digitCounts.fill(0, 0, digits);
    for (let k = 0; k < m; k++) digitCounts[(src[k]! >>> shift) & digitMask]!++;
    let at = 0;
    for (let d = 0; d < digits; d++) {
      const c = digitCounts[d]!;
      digitCounts[d] = at;
      at += c;
    }
    for (let k = 0; k < m; k++) {
      const v = src[k]!;
      dst[digitCounts[(v >>> shift) & digitMask]!++] = v;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** The list entry of an n-gram hash (see `scratch`). */
function entry(hash: number, dim: number, mask: number, signed: boolean): number {
  const h = fmix32(hash);
  // id < dim <= 2^31, so id · 2 + 1 fits in 32 bits.
  return (mask >= 0 ? h & mask : h % dim) * 2 + (signed ? h >>> 31 : 0);
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
  // -1: not a power of two, so ids are taken modulo dim.
  const mask = (dim & (dim - 1)) === 0 ? dim - 1 : -1;
  // Every n-gram of every token, counted before any is listed (the list never grows mid-way).
  let total = 0;
  for (let t = 0; t < tokens.length; t++) {
    total += wordBigrams ? 2 : 1;
    if (nHi > 0) total += (tokens[t]!.length + 2) * (nHi - Math.max(nLo, 1) + 1); // t < tokens.length
  }
  if (scratch.length < total) {
    scratch = new Uint32Array(Math.max(total, scratch.length * 2));
    spare = new Uint32Array(scratch.length);
  }
  const list = scratch;
  let m = 0;
  let prevHash = 0;
  for (let t = 0; t < tokens.length; t++) {
    const w = tokens[t]!; // t < tokens.length
    list[m++] = entry(fnv1a(w, SEED_WORD), dim, mask, signed);
    if (wordBigrams) {
      // Bigram = hash of "prev word" continued with a separator and this word.
      if (t > 0) list[m++] = entry(fnv1a(w, Math.imul(prevHash ^ 0x20, FNV_PRIME) >>> 0), dim, mask, signed);
      prevHash = fnv1a(w, SEED_BIGRAM);
    }
    if (nHi > 0) {
      // Character n-grams of the word padded as `<word>`, without building the padded string.
      const L = w.length + 2;
      for (let i = 0; i < L; i++) {
        let h = SEED_CHAR;
        const end = Math.min(L, i + nHi);
        for (let j = i; j < end; j++) {
          const c = j === 0 ? 0x3c : j === L - 1 ? 0x3e : w.charCodeAt(j - 1);
          h = Math.imul(h ^ c, FNV_PRIME);
          if (j - i + 1 >= nLo) list[m++] = entry(h >>> 0, dim, mask, signed);
        }
      }
    }
  }

  const keyBits = 32 - Math.clz32((dim - 1) * 2 + 1);
  const sorted = radixSort(list, spare, m, keyBits);
  // One pass over the sorted entries: a feature's count is its +1 entries less its −1 entries,
  // kept in the scratch buffer the sort left free (reinterpreted as signed) until the size is known.
  const counts = new Int32Array(sorted === list ? spare.buffer : list.buffer, 0, m);
  let n = 0;
  let norm = 0;
  // Branch-free on the sign (a hashed sign is a coin toss the CPU cannot predict). n <= the
  // entries read so far, so sorted[n] is behind k and free to hold the id; the loop runs one
  // step past the end to close the last feature.
  let id = m > 0 ? sorted[0]! >>> 1 : 0;
  let c = 0;
  for (let k = 0; k <= m; k++) {
    const e = sorted[k < m ? k : 0]!; // k < m = sorted.length, and the scratch is never empty
    if (k < m && e >>> 1 === id) c += 1 - ((e & 1) << 1);
    else {
      // A count that cancels to 0 is no feature.
      if (c !== 0) {
        sorted[n] = id;
        counts[n++] = c;
        norm += c * c;
      }
      id = e >>> 1;
      c = 1 - ((e & 1) << 1);
    }
  }
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  const indices = sorted.slice(0, n);
  const values = new Float32Array(n);
  for (let k = 0; k < n; k++) values[k] = counts[k]! * inv; // k < n <= counts.length
  return { indices, values };
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
