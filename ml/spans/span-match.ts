/**
 * Span attribution (OLMoTrace): the maximal spans of an answer that occur verbatim in the training
 * text, found by narrowing a suffix-array interval token by token, and the records holding them,
 * weighted by span length and rarity.
 *
 * - A span starting at answer token i is the longest run i..i+L that occurs in the index; it is
 *   kept when it is at least `minLength` tokens and not inside a span kept before it (maximal).
 * - A span made only of very frequent words (each above `frequentShare` of the training words:
 *   "and of the to it is") says nothing about where the answer came from, and is dropped.
 * - A span found more than `maxOccurrences` times is boilerplate shared by many records, dropped too.
 * - Each kept span gives length × ln(words / count) to the records holding it, split evenly over
 *   its `count` occurrences: long and rare spans weigh most, a span every record has weighs little.
 * The records' weights are normalised over the `topK` heaviest and summed per contributor.
 */
import type { Attribution } from '../embedded/influence.js';
import type { SpanIndex } from './span-index.js';

export interface SpanOptions {
  /** Shortest span kept, in word tokens. */
  minLength: number;
  /** A word above this share of the training words is "very frequent". */
  frequentShare: number;
  /** A span found more often than this is not attributed. */
  maxOccurrences: number;
}

export const DEFAULT_SPAN_OPTIONS: Readonly<SpanOptions> = Object.freeze({
  minLength: 6,
  frequentShare: 0.01,
  maxOccurrences: 1000,
});

/** A maximal span of the answer: its first token, length, and its occurrences in the index. */
export interface Span {
  start: number;
  length: number;
  count: number;
  /** First suffix-array entry of its occurrences (they are lo .. lo + count − 1). */
  lo: number;
}

/** The sub-interval of suffix-array entries [lo, hi) whose token at offset `k` is `t`. */
function narrow(index: SpanIndex, lo: number, hi: number, k: number, t: number): [number, number] {
  const { token, suffix } = index;
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (token(suffix(mid) + k) < t) a = mid + 1;
    else b = mid;
  }
  let c = a;
  let d = hi;
  while (c < d) {
    const mid = (c + d) >>> 1;
    if (token(suffix(mid) + k) <= t) c = mid + 1;
    else d = mid;
  }
  return [a, c];
}

/**
 * The maximal spans of `query` (stored ranks, index.ranks) of at least `minLength` tokens, and
 * how often each query token occurs in the index (for the frequency filter).
 */
export function maximalSpans(
  index: SpanIndex,
  query: Int32Array,
  minLength: number,
): { spans: Span[]; unigram: Uint32Array } {
  const unigram = new Uint32Array(query.length);
  const spans: Span[] = [];
  let reach = 0; // end of the furthest span so far
  for (let i = 0; i < query.length; i++) {
    let lo = 0;
    let hi = index.size;
    let k = 0;
    let at = -1; // once one occurrence is left, its offset: the rest is compared directly
    while (i + k < query.length) {
      const t = query[i + k]!;
      if (t === 0) break; // a word the training text never has
      if (at >= 0) {
        if (index.token(at + k) !== t) break;
      } else {
        const [a, b] = narrow(index, lo, hi, k, t);
        if (a === b) break;
        lo = a;
        hi = b;
        if (hi - lo === 1) at = index.suffix(lo);
      }
      if (k === 0) unigram[i] = hi - lo;
      k++;
    }
    if (k >= minLength && i + k > reach) {
      spans.push({ start: i, length: k, count: hi - lo, lo });
      reach = i + k;
    }
  }
  return { spans, unigram };
}

export interface SpanAttribution {
  attribution: Attribution;
  /** The spans that carried weight, per text, in answer word-token positions. */
  spans: { text: number; start: number; length: number; count: number }[];
}

/**
 * The attribution of `texts` (an answer's choices) by span matching, or undefined when no span
 * qualifies (the caller falls back to retrieval).
 */
export function attributeSpans(
  index: SpanIndex,
  texts: readonly string[],
  topK: number,
  o: SpanOptions = DEFAULT_SPAN_OPTIONS,
): SpanAttribution | undefined {
  const words = Math.max(1, index.header.words);
  const frequent = Math.max(1, o.frequentShare * words); // a word seen once is never "very frequent"
  const weight = new Map<number, number>();
  const used: SpanAttribution['spans'] = [];
  for (const [t, text] of texts.entries()) {
    const query = index.ranks(text);
    const { spans, unigram } = maximalSpans(index, query, o.minLength);
    for (const s of spans) {
      if (s.count > o.maxOccurrences) continue;
      let informative = false;
      for (let j = s.start; j < s.start + s.length && !informative; j++) informative = unigram[j]! <= frequent;
      if (!informative) continue;
      const w = (s.length * Math.log(words / s.count)) / s.count;
      for (let j = s.lo; j < s.lo + s.count; j++) {
        const r = index.recordAt(index.suffix(j));
        weight.set(r, (weight.get(r) ?? 0) + w);
      }
      used.push({ text: t, start: s.start, length: s.length, count: s.count });
    }
  }
  const ranked = [...weight]
    .filter(([, w]) => w > 0)
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, Math.max(1, topK));
  const total = ranked.reduce((s, [, w]) => s + w, 0);
  if (!ranked.length || !(total > 0)) return undefined;
  const records = ranked.map(([r, w]) => ({ ...index.source(r), influence: w / total }));
  const byContributor = new Map<string, number>();
  for (const r of records) byContributor.set(r.contributor, (byContributor.get(r.contributor) ?? 0) + r.influence);
  const contributors = [...byContributor]
    .map(([contributor, weight]) => ({ contributor, weight }))
    .sort((a, b) => b.weight - a.weight || a.contributor.localeCompare(b.contributor));
  return { attribution: { contributors, records }, spans: used };
}
