// Exact and near-duplicate detection: text normalisation, MinHash signatures and LSH banding.
//
// Pipeline per record: normalise -> shingles (word 2-grams; character 5-grams for very short texts)
// -> 32-bit shingle hashes -> NUM_PERM min-hashes -> BANDS band keys.
// The scoring workflow keeps (band key -> first record id) and each record's b-bit sketch in
// Postgres between batches: a new record whose band keys hit a stored key is a near-duplicate
// CANDIDATE, confirmed when sketchJaccard(stored, new) >= NEAR_DUPLICATE_JACCARD.
//
// Why word 2-grams and 0.7 (measured by `npm run bench:dedupe`): one edited word changes up to w
// word w-grams, so with 3-grams two edits in a 40-word record already pull Jaccard down to ~0.73 and
// the former 0.8 threshold let ~37% of such near-copies through (18% caught at three edits). With
// 2-grams two edits leave Jaccard ~0.82 and five ~0.6; distinct records still share almost no
// 2-grams (0 of 2,000 synthetic records flagged, no SpamAssassin pair below 0.5 word-level edit
// similarity flagged), so the threshold drops to 0.7 without false positives.
//
// Choice of b x r (the LSH S-curve). Two texts with Jaccard similarity s share at least one band with
// probability P(s) = 1 - (1 - s^r)^b; the curve's steep part sits near (1/b)^(1/r).
// With b = 30 bands of r = 4 rows (120 permutations), threshold ~ (1/30)^(1/4) ~ 0.43 and:
//     s = 0.8 -> 0.9999999  s = 0.7 -> 0.9997   s = 0.6 -> 0.984   s = 0.5 -> 0.86
//     s = 0.4 -> 0.54       s = 0.3 -> 0.22     s = 0.2 -> 0.047
// so pairs at Jaccard >= 0.7 become candidates with probability >= 0.9997 (20 x 6 gave 0.92 there),
// and unrelated texts (s < 0.2) rarely cost a confirmation look-up. Band indices stay below 0x1f,
// the band the data activities reserve for the exact-text key.
//
// Changing shingles, bands or rows changes every band key and sketch. Keys and sketches are only
// compared within one Datanet's scoring, and pass 2 reuses the keys pass 1 wrote, so existing
// Datanets are unaffected; only a deploy while a Datanet's pass 1 is still running mixes layouts
// between its batches (near-copies across those batches are missed; nothing is falsely flagged).
// 30 bands also means 31 lsh_bands rows per accepted record (with the exact-text key), up from 21.
//
// Every hash here is pure 32-bit integer arithmetic (Math.imul), deterministic across machines,
// so signatures and band keys computed in different workers and rounds are comparable.
import { createHash } from 'node:crypto';
import { fmix32 } from '../hash32.js';
import type { AnalysedText } from './analysed-text.js';
import { normaliseText } from './tokenize.js';

// Lives with wordTokens (tokenize.ts) so AnalysedText can share it; exported here as before.
export { normaliseText };

export const NUM_PERM = 120;
export const BANDS = 30;
export const ROWS = 4;
/** Estimated Jaccard at or above which a candidate is confirmed as a near-duplicate. */
export const NEAR_DUPLICATE_JACCARD = 0.7;
/** Below this many words, word 2-grams are too few to compare; character 5-grams are used. */
export const MIN_WORDS_FOR_WORD_SHINGLES = 8;
const CHAR_SHINGLE = 5;
const WORD_SHINGLE = 2;
const SHINGLE_MULT = [0, 0x9e3779b1, 0x7feb352d, 0x846ca68b];

/**
 * Key for exact duplicates: SHA-256 (hex) of the normalised text, so copies that differ only in
 * case, punctuation, Unicode form or spacing collide.
 */
export function exactKey(text: string): string {
  return createHash('sha256').update(normaliseText(text), 'utf8').digest('hex');
}

// FNV-1a over UTF-16 code units of s[start, end), finished with fmix32.
function hashRange(s: string, start: number, end: number, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

// Per-permutation parameters of h_i(x) = fmix-lite(a_i * (x ^ c_i) + b_i) mod 2^32, a_i odd.
// Fixed seeds (derived with a splitmix-style generator) so signatures are stable forever:
// changing them invalidates every stored signature and band key.
// Int32Array, not Uint32Array: values >= 2^31 read from a Uint32Array are heap doubles in V8,
// which would take the inner loop off the fast small-integer path.
const PERM_A = new Int32Array(NUM_PERM);
const PERM_B = new Int32Array(NUM_PERM);
const PERM_C = new Int32Array(NUM_PERM);
{
  let state = 0x2545f491;
  const next = (): number => {
    state = (state + 0x9e3779b9) | 0;
    return fmix32(state);
  };
  for (let i = 0; i < NUM_PERM; i++) {
    PERM_A[i] = next() | 1;
    PERM_B[i] = next();
    PERM_C[i] = next();
  }
}

/** exactKey of a text already analysed (its normalised form is computed once and shared). */
export function exactKeyOf(analysed: AnalysedText): string {
  return createHash('sha256').update(analysed.normalised, 'utf8').digest('hex');
}

/** 32-bit hashes of the text's shingles (may contain repeats; MinHash ignores them). */
export function shingleHashes(text: string): Uint32Array {
  return shinglesOfNormalised(normaliseText(text));
}

/**
 * shingleHashes of a text already analysed. On ASCII text the normalised words are its tokens, so
 * word shingles hash the tokens directly (the same code units hashRange reads in the joined text).
 */
export function shingleHashesOf(analysed: AnalysedText): Uint32Array {
  if (!analysed.ascii) return shinglesOfNormalised(analysed.normalised);
  const tokens = analysed.tokens;
  const words = tokens.length;
  if (words < MIN_WORDS_FOR_WORD_SHINGLES) return shinglesOfNormalised(analysed.normalised);
  const wh = new Uint32Array(words);
  for (let w = 0; w < words; w++) {
    const t = tokens[w]!; // w < words = tokens.length
    wh[w] = hashRange(t, 0, t.length, 0);
  }
  return wordShingles(wh);
}

function shinglesOfNormalised(norm: string): Uint32Array {
  if (norm.length === 0) return new Uint32Array(0);
  // Word boundaries in one pass, no substring allocation.
  const starts: number[] = [];
  const ends: number[] = [];
  let i = 0;
  while (i < norm.length) {
    while (i < norm.length && norm.charCodeAt(i) === 32) i++;
    if (i >= norm.length) break;
    const s = i;
    while (i < norm.length && norm.charCodeAt(i) !== 32) i++;
    starts.push(s);
    ends.push(i);
  }
  const words = starts.length;
  if (words >= MIN_WORDS_FOR_WORD_SHINGLES) {
    // starts and ends hold `words` entries; w + k < words because out has words - WORD_SHINGLE + 1 entries.
    const wh = new Uint32Array(words);
    for (let w = 0; w < words; w++) wh[w] = hashRange(norm, starts[w]!, ends[w]!, 0);
    return wordShingles(wh);
  }
  if (norm.length <= CHAR_SHINGLE) return Uint32Array.of(hashRange(norm, 0, norm.length, 1));
  const out = new Uint32Array(norm.length - CHAR_SHINGLE + 1);
  for (let c = 0; c < out.length; c++) out[c] = hashRange(norm, c, c + CHAR_SHINGLE, 1);
  return out;
}

/** Word w-gram hashes from per-word hashes (at least MIN_WORDS_FOR_WORD_SHINGLES of them). */
function wordShingles(wh: Uint32Array): Uint32Array {
  // w + k < wh.length because out has wh.length - WORD_SHINGLE + 1 entries.
  const out = new Uint32Array(wh.length - WORD_SHINGLE + 1);
  for (let w = 0; w < out.length; w++) {
    // Order-sensitive combination of WORD_SHINGLE word hashes.
    let h = fmix32(wh[w]! ^ 0x3c6ef372);
    for (let k = 1; k < WORD_SHINGLE; k++) h = fmix32((h ^ Math.imul(wh[w + k] ?? 0, SHINGLE_MULT[k] ?? 0)) >>> 0);
    out[w] = h;
  }
  return out;
}

/** MinHash signature (NUM_PERM unsigned 32-bit minima). Empty text -> all 0xffffffff. */
export function minhashSignature(text: string): Uint32Array {
  return signatureOfShingles(shingleHashes(text));
}

export function signatureOfShingles(shingles: Uint32Array): Uint32Array {
  // Minima are tracked as signed int32 of (u - 2^31): flipping the sign bit maps unsigned order
  // onto signed order, so the loop stays in int32 arithmetic throughout.
  // Four permutations per pass over the (small, cache-resident) shingle array: their parameters and
  // running minima stay in registers, each shingle is loaded once for the four, and the four
  // independent hash chains overlap in the CPU (about a fifth less time than one per pass; the
  // same minima, so the same signature).
  const n = shingles.length;
  const xs = new Int32Array(shingles.buffer, shingles.byteOffset, n);
  const sig = new Uint32Array(NUM_PERM);
  // In range: the PERM_* tables have NUM_PERM entries (a multiple of 4) and xs has n.
  for (let p = 0; p < NUM_PERM; p += 4) {
    const a0 = PERM_A[p]!,
      b0 = PERM_B[p]!,
      c0 = PERM_C[p]!;
    const a1 = PERM_A[p + 1]!,
      b1 = PERM_B[p + 1]!,
      c1 = PERM_C[p + 1]!;
    const a2 = PERM_A[p + 2]!,
      b2 = PERM_B[p + 2]!,
      c2 = PERM_C[p + 2]!;
    const a3 = PERM_A[p + 3]!,
      b3 = PERM_B[p + 3]!,
      c3 = PERM_C[p + 3]!;
    let m0 = 0x7fffffff,
      m1 = 0x7fffffff,
      m2 = 0x7fffffff,
      m3 = 0x7fffffff;
    for (let s = 0; s < n; s++) {
      const x = xs[s]!;
      // Per permutation: a seeded universal hash (multiply-add mod 2^32) followed by an
      // xorshift-multiply so the high AND low bits depend on every input bit.
      let v0 = (Math.imul(x ^ c0, a0) + b0) | 0;
      let v1 = (Math.imul(x ^ c1, a1) + b1) | 0;
      let v2 = (Math.imul(x ^ c2, a2) + b2) | 0;
      let v3 = (Math.imul(x ^ c3, a3) + b3) | 0;
      v0 ^= v0 >>> 15;
      v1 ^= v1 >>> 15;
      v2 ^= v2 >>> 15;
      v3 ^= v3 >>> 15;
      v0 = Math.imul(v0, 0x2c1b3c6d);
      v1 = Math.imul(v1, 0x2c1b3c6d);
      v2 = Math.imul(v2, 0x2c1b3c6d);
      v3 = Math.imul(v3, 0x2c1b3c6d);
      v0 = ((v0 ^ (v0 >>> 12)) + -2147483648) | 0;
      v1 = ((v1 ^ (v1 >>> 12)) + -2147483648) | 0;
      v2 = ((v2 ^ (v2 >>> 12)) + -2147483648) | 0;
      v3 = ((v3 ^ (v3 >>> 12)) + -2147483648) | 0;
      if (v0 < m0) m0 = v0;
      if (v1 < m1) m1 = v1;
      if (v2 < m2) m2 = v2;
      if (v3 < m3) m3 = v3;
    }
    sig[p] = (m0 + -2147483648) >>> 0;
    sig[p + 1] = (m1 + -2147483648) >>> 0;
    sig[p + 2] = (m2 + -2147483648) >>> 0;
    sig[p + 3] = (m3 + -2147483648) >>> 0;
  }
  return sig;
}

/** Fraction of permutations on which the two signatures agree: an unbiased Jaccard estimate. */
export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length || a.length === 0) throw new Error('minhash: signatures of different lengths');
  let eq = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) eq++;
  return eq / a.length;
}

/**
 * b-bit MinHash sketch: the low byte of each permutation, NUM_PERM bytes a record (what the data
 * activities store per record for the confirmation step).
 */
export function sketchOf(signature: Uint32Array): Uint8Array {
  const b = new Uint8Array(signature.length);
  for (const [i, v] of signature.entries()) b[i] = v & 0xff;
  return b;
}

/** Jaccard from b-bit sketches, corrected for the 1/256 chance that unequal minima share a low byte. */
export function sketchJaccard(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== NUM_PERM || b.length !== NUM_PERM)
    throw new RangeError(`sketches must be ${NUM_PERM} bytes, got ${a.length} and ${b.length}`);
  let eq = 0;
  for (let i = 0; i < NUM_PERM; i++) if (a[i] === b[i]) eq++;
  const c = 1 / 256;
  return Math.max(0, (eq / NUM_PERM - c) / (1 - c));
}

/**
 * One key per band: 2 hex chars of band index + 12 hex chars (48 bits) of hash of the band's
 * ROWS values, 14 chars in all. Equal band values give equal keys; different bands never collide.
 * (As a number, parseInt(key, 16) < 2^53, so it also fits a Postgres bigint exactly.)
 * A 48-bit collision only yields a false candidate, which estimateJaccard then rejects.
 */
export function bandKeys(signature: Uint32Array): string[] {
  const keys = new Array<string>(BANDS);
  forEachBandHash(signature, (b, h1, h2) => {
    keys[b] =
      b.toString(16).padStart(2, '0') + h1.toString(16).padStart(8, '0') + (h2 & 0xffff).toString(16).padStart(4, '0');
  });
  return keys;
}

/**
 * The band keys as numbers, parseInt(key, 16) for each of bandKeys(signature), computed without
 * the hex strings: band index x 2^48 + h1 x 2^16 + the low 16 bits of h2 (all below 2^53).
 */
export function bandNumbers(signature: Uint32Array): number[] {
  const out = new Array<number>(BANDS);
  forEachBandHash(signature, (b, h1, h2) => {
    out[b] = b * 2 ** 48 + h1 * 2 ** 16 + (h2 & 0xffff);
  });
  return out;
}

/** The two 32-bit hashes of each band's ROWS values, from which both key forms above are made. */
function forEachBandHash(signature: Uint32Array, each: (band: number, h1: number, h2: number) => void): void {
  if (signature.length !== NUM_PERM) throw new Error(`minhash: signature must have ${NUM_PERM} values`);
  for (let b = 0; b < BANDS; b++) {
    let h1 = 0x6a09e667 ^ b;
    let h2 = 0xbb67ae85 ^ b;
    for (let r = 0; r < ROWS; r++) {
      const v = signature[b * ROWS + r]!; // < BANDS * ROWS = NUM_PERM, the length checked above
      h1 = fmix32((h1 ^ v) + 0x9e3779b9);
      h2 = fmix32((Math.imul(h2, 0x27d4eb2f) ^ v) >>> 0);
    }
    each(b, h1, h2);
  }
}

/**
 * Band index no LSH band uses (there are BANDS = 30), reserved for the normalised-text exact key;
 * small enough that prefix x 2^48 + 48 bits stays below 2^53 and is exact as a number.
 */
export const EXACT_BAND_PREFIX = 0x1f;

/**
 * A record's band keys as numbers (bigints in lsh_bands): its BANDS LSH bands, then one exact-text
 * band whose low 48 bits are the first 6 bytes of SHA-256 over the hex exactKey.
 */
export function recordBands(analysed: AnalysedText, signature: Uint32Array): number[] {
  const exact = createHash('sha256').update(exactKeyOf(analysed), 'utf8').digest();
  const out = bandNumbers(signature);
  out.push(EXACT_BAND_PREFIX * 2 ** 48 + exact.readUIntBE(0, 6));
  return out;
}

/** Compact storage: NUM_PERM little-endian uint32s in base64 (640 chars for 120 permutations). */
export function encodeSignature(signature: Uint32Array): string {
  const buf = Buffer.allocUnsafe(signature.length * 4);
  for (const [i, v] of signature.entries()) buf.writeUInt32LE(v, i * 4);
  return buf.toString('base64');
}

export function decodeSignature(encoded: string): Uint32Array {
  const buf = Buffer.from(encoded, 'base64');
  if (buf.length !== NUM_PERM * 4)
    throw new Error(`minhash: encoded signature must be ${NUM_PERM * 4} bytes, got ${buf.length}`);
  const sig = new Uint32Array(NUM_PERM);
  for (let i = 0; i < NUM_PERM; i++) sig[i] = buf.readUInt32LE(i * 4);
  return sig;
}

/**
 * In-memory LSH index (one batch, or tests). Across batches the same keys live in Postgres; the
 * index round-trips through toJSON()/fromJSON() as (band key -> ids) pairs.
 */
export class LshIndex {
  private readonly buckets = new Map<string, string[]>();

  add(id: string, signature: Uint32Array): void {
    for (const key of bandKeys(signature)) {
      const ids = this.buckets.get(key);
      if (!ids) this.buckets.set(key, [id]);
      else if (!ids.includes(id)) ids.push(id);
    }
  }

  /** Ids sharing at least one band with the signature (candidates, to confirm with estimateJaccard). */
  candidates(signature: Uint32Array): string[] {
    const out = new Set<string>();
    for (const key of bandKeys(signature)) {
      const ids = this.buckets.get(key);
      if (ids) for (const id of ids) out.add(id);
    }
    return [...out];
  }

  get bucketCount(): number {
    return this.buckets.size;
  }

  toJSON(): [string, string[]][] {
    return [...this.buckets.entries()];
  }

  static fromJSON(entries: [string, string[]][]): LshIndex {
    const idx = new LshIndex();
    for (const [k, ids] of entries) idx.buckets.set(k, [...ids]);
    return idx;
  }
}
