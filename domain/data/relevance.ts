// Relevance of a contributed text to the proposal's domain: cosine similarity between hashed,
// stop-word-free term-frequency vectors (unigrams of lightly stemmed words), rescaled to [0, 1].
//
// The profile is built once per proposal from what the proposal declares (domain, description,
// keywords, labels, examples) and is a plain JSON object, so it can travel in Temporal payloads.
// Keywords and labels are weighted above free text because the proposer chose them as the
// vocabulary of the domain; examples supply the everyday vocabulary of real records.

import type { AnalysedText } from './analysed-text.js';
import { wordTokens } from './tokenize.js';

export interface DomainProfileInput {
  domain: string;
  description: string;
  keywords?: string[];
  labels?: string[];
  examples?: string[];
}

export interface DomainProfile {
  /** Feature space size (a power of two). */
  dims: number;
  /** Sorted feature indices and their weights; the vector has unit L2 norm. */
  indices: number[];
  weights: number[];
  /** Typical cosine of a genuine on-topic record with this profile (see buildDomainProfile). */
  refCosine: number;
}

export interface RelevanceResult {
  score: number;
  /** Raw cosine similarity before rescaling (for diagnostics and threshold tuning). */
  cosine: number;
  reason: string;
}

const DIMS = 1 << 18;
/** Typical on-topic cosine when the proposal gives fewer than 3 examples to calibrate on. */
const DEFAULT_REF_COSINE = 0.1;
const MIN_REF_COSINE = 0.03;
const LOGISTIC_MID = 0.35;
const LOGISTIC_WIDTH = 0.08;
/** Distinct shared terms needed for full credit (see relevanceScore). */
const MIN_SHARED_TERMS = 3;
const WEIGHT_DOMAIN = 3;
const WEIGHT_KEYWORD = 3;
const WEIGHT_LABEL = 2;
const WEIGHT_DESCRIPTION = 1;
const WEIGHT_EXAMPLE = 1;
/** Only the first this-many tokens of a record are used: enough to judge topic, bounded cost. */
const MAX_TOKENS = 2000;

// Common English function words: carry no topic, and would make every text look alike.
const STOP_WORDS = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being below ' +
    'between both but by can could did do does doing down during each either else ever few for from further ' +
    'get got had has have having he her here hers herself him himself his how however i if in into is it its ' +
    'itself just let like may me might more most much must my myself no nor not now of off on once only or ' +
    'other ought our ours ourselves out over own per rather re same shall she should since so some such than ' +
    'that the their theirs them themselves then there these they this those though through thus to too under ' +
    'until up upon us very via was we were what when where whether which while who whom whose why will with ' +
    'within without would yet you your yours yourself yourselves one two three s t d ll m ve don didn doesn ' +
    'isn wasn aren won wouldn couldn shouldn hasn haven hadn etc e g ie eg'
  ).split(' '),
);

const isDigits = (w: string): boolean => {
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
};

/** Tiny suffix stripper so spam/spams, recipe/recipes, click/clicking land on one feature. */
function stem(w: string): string {
  if (w.length > 5 && w.endsWith('ing')) return w.slice(0, -3);
  if (w.length > 4 && w.endsWith('ies')) return w.slice(0, -3) + 'y';
  if (w.length > 4 && w.endsWith('ed')) return w.slice(0, -2);
  if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) return w.slice(0, -1);
  return w;
}

function featureIndex(term: string): number {
  // FNV-1a, 32-bit; masked to the power-of-two feature space.
  let h = 0x811c9dc5;
  for (let i = 0; i < term.length; i++) {
    h ^= term.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) & (DIMS - 1);
}

/** Term counts of a text as feature index -> count. */
function termCounts(text: string, into: Map<number, number>, weight: number, maxTokens = MAX_TOKENS): number {
  return countTerms(wordTokens(text, maxTokens * 3), into, weight, maxTokens);
}

/** termCounts over tokens already split (only the first maxTokens * 3 are read). */
function countTerms(tokens: readonly string[], into: Map<number, number>, weight: number, maxTokens: number): number {
  let n = 0;
  const end = Math.min(tokens.length, maxTokens * 3);
  for (let i = 0; i < end; i++) {
    const w = tokens[i]!; // i < tokens.length
    if (w.length < 2 || STOP_WORDS.has(w) || isDigits(w)) continue;
    const idx = featureIndex(stem(w));
    into.set(idx, (into.get(idx) ?? 0) + weight);
    if (++n >= maxTokens) break;
  }
  return n;
}

/** Sublinear term frequency: the tenth "free" adds far less than the first. */
const sublinear = (tf: number): number => (tf > 0 ? 1 + Math.log(tf) : 0);

export function buildDomainProfile(input: DomainProfileInput): DomainProfile {
  // Each source is sublinear on its own, then weighted, so one long example cannot swamp keywords.
  const total = new Map<number, number>();
  const contribution = (text: string, weight: number): Map<number, number> => {
    const counts = new Map<number, number>();
    termCounts(text, counts, 1, Number.MAX_SAFE_INTEGER);
    for (const [idx, tf] of counts) counts.set(idx, weight * sublinear(tf));
    return counts;
  };
  const add = (c: Map<number, number>): void => {
    for (const [idx, w] of c) total.set(idx, (total.get(idx) ?? 0) + w);
  };
  add(contribution(input.domain, WEIGHT_DOMAIN));
  add(contribution(input.description, WEIGHT_DESCRIPTION));
  for (const k of input.keywords ?? []) add(contribution(k, WEIGHT_KEYWORD));
  for (const l of input.labels ?? []) add(contribution(l, WEIGHT_LABEL));
  const examples = (input.examples ?? []).map((e) => contribution(e, WEIGHT_EXAMPLE));
  for (const c of examples) add(c);
  if (total.size === 0) throw new Error('relevance: the domain profile has no usable terms');

  // Calibration: how similar is a genuine record to the profile built WITHOUT it? The median
  // leave-one-out cosine of the examples is the "typical on-topic" level for this profile (richer
  // profiles give higher cosines, so a fixed scale would not fit all proposals).
  let refCosine = DEFAULT_REF_COSINE;
  if (examples.length >= 3) {
    const loo: number[] = [];
    for (const ex of examples.slice(0, 50)) {
      let dot = 0;
      let exNorm2 = 0;
      let restNorm2 = 0;
      for (const [idx, w] of total) {
        const mine = ex.get(idx) ?? 0;
        const rest = w - mine;
        restNorm2 += rest * rest;
        if (mine !== 0) {
          dot += rest * (mine / WEIGHT_EXAMPLE);
          exNorm2 += (mine / WEIGHT_EXAMPLE) ** 2;
        }
      }
      if (exNorm2 > 0 && restNorm2 > 0) loo.push(dot / Math.sqrt(exNorm2 * restNorm2));
    }
    loo.sort((a, b) => a - b);
    const median = loo[Math.floor((loo.length - 1) / 2)];
    if (median !== undefined) refCosine = Math.max(MIN_REF_COSINE, median);
  }

  const entries = [...total.entries()].sort((a, b) => a[0] - b[0]);
  const norm = Math.sqrt(entries.reduce((acc, [, w]) => acc + w * w, 0));
  return {
    dims: DIMS,
    indices: entries.map(([i]) => i),
    weights: entries.map(([, w]) => w / norm),
    refCosine: Math.round(refCosine * 10000) / 10000,
  };
}

// Dense copy of a profile for O(1) look-ups, built once per profile object.
const denseCache = new WeakMap<DomainProfile, Float32Array>();
function dense(profile: DomainProfile): Float32Array {
  let d = denseCache.get(profile);
  if (!d) {
    if (profile.dims !== DIMS)
      throw new Error(`relevance: profile built for ${profile.dims} features, expected ${DIMS}`);
    if (profile.weights.length !== profile.indices.length)
      throw new Error(`relevance: profile has ${profile.indices.length} indices but ${profile.weights.length} weights`);
    d = new Float32Array(DIMS);
    for (const [i, idx] of profile.indices.entries()) d[idx] = profile.weights[i]!; // same lengths (checked)
    denseCache.set(profile, d);
  }
  return d;
}

/**
 * Score = logistic((cosine / refCosine - 0.35) / 0.08) x min(1, sharedTerms / 3).
 * Raw cosines between one record and a whole-domain profile are small even on topic (a record
 * uses a handful of the profile's terms) and grow with the profile's richness, so the cosine is
 * first divided by the profile's reference cosine (typical on-topic level, see buildDomainProfile).
 * The logistic then maps ratio 0.2 -> 0.13, 0.35 -> 0.5, 0.5 -> 0.87, 0.7 -> 0.99: text at a
 * third of the typical on-topic similarity is the borderline. Calibrated on the SpamAssassin
 * corpus against an email-spam profile (see relevance.test.ts).
 */
export function relevanceScore(profile: DomainProfile, text: string, analysed?: AnalysedText): RelevanceResult {
  const p = dense(profile);
  const counts = new Map<number, number>();
  // analysed.tokens is wordTokens(text) in full; termCounts reads a prefix of the same list.
  const tokens =
    analysed && analysed.text === text
      ? countTerms(analysed.tokens, counts, 1, MAX_TOKENS)
      : termCounts(text, counts, 1);
  if (tokens === 0) return { score: 0, cosine: 0, reason: 'no content words to compare with the domain' };
  let dot = 0;
  let norm2 = 0;
  let shared = 0;
  for (const [idx, tf] of counts) {
    const w = sublinear(tf);
    norm2 += w * w;
    const pw = p[idx]!; // termCounts ids are < DIMS = p.length
    if (pw !== 0) {
      dot += w * pw;
      shared++;
    }
  }
  const cosine = norm2 === 0 ? 0 : dot / Math.sqrt(norm2);
  // One or two shared words (a recipe's "free" and "please") are weak evidence however heavy
  // those words are in the profile, so the score is scaled down until MIN_SHARED_TERMS agree.
  const evidence = Math.min(1, shared / MIN_SHARED_TERMS);
  const ratio = cosine / (profile.refCosine > 0 ? profile.refCosine : DEFAULT_REF_COSINE);
  const sigmoid = 1 / (1 + Math.exp(-(ratio - LOGISTIC_MID) / LOGISTIC_WIDTH));
  const score = shared === 0 ? 0 : Math.round(sigmoid * evidence * 1000) / 1000;
  const reason =
    score >= 0.5
      ? `on-topic: shares ${shared} term(s) with the domain profile (cosine ${cosine.toFixed(3)})`
      : score >= 0.2
        ? `weakly related to the domain: ${shared} shared term(s) (cosine ${cosine.toFixed(3)})`
        : `off-topic: ${shared} shared term(s) with the domain profile (cosine ${cosine.toFixed(3)})`;
  return { score, cosine: Math.round(cosine * 10000) / 10000, reason };
}
