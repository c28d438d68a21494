/**
 * The embedded generative model: retrieval-augmented answering over a dataset version. The
 * artifact holds the retrieval index (the training records' prompts and responses) and a learned
 * linear ranker. An answer is the response of the best-ranked retrieved record, so every word of
 * it comes from a contributed record; it is attributed to the records retrieved for it, weighted by
 * the ranker's softmax, and the record that supplied the answer carries most of the weight.
 */
import { wordTokens } from '../../domain/data/tokenize.js';
import type { Attribution } from '../embedded/influence.js';
import { ExactCosineIndex, type RetrievalIndex } from './retrieval.js';

export const RAG_FORMAT = 'commons-rag/1';
const MAGIC = Buffer.from(`${RAG_FORMAT}\n`, 'utf8');

export interface RagDocument {
  hash: string;
  contributor: string;
  prompt: string;
  response: string;
}

/** Ranker features of one (query, document) pair; the last weight is the per-document bias. */
export const RANKER_FEATURES = ['retrieval', 'promptSimilarity', 'responseSimilarity', 'responseLength'] as const;
export const RANKER_DIM = RANKER_FEATURES.length;

export interface RagOptions {
  /** Records retrieved per query before ranking. */
  retrieve: number;
  /** Softmax temperature turning ranker scores into attribution weights. */
  temperature: number;
}

export const DEFAULT_RAG_OPTIONS: RagOptions = { retrieve: 8, temperature: 0.1 };

export interface RankedCandidate {
  id: number;
  doc: RagDocument;
  score: number;
  features: Float64Array;
}

export interface RagAnswer {
  text: string;
  /** The record whose response is the answer. */
  used: RagDocument;
  attribution: Attribution;
}

export class RagModel {
  readonly index: RetrievalIndex;
  private readonly promptIndex: ExactCosineIndex;
  private readonly responseIndex: ExactCosineIndex;

  constructor(
    readonly docs: RagDocument[],
    /** Ranker weights, one per RANKER_FEATURES entry. */
    readonly weights: Float64Array = Float64Array.from([1, 0, 0, 0]),
    /** Per-document bias learned from reviewer preferences (0 until a preference update). */
    readonly bias: Float64Array = new Float64Array(docs.length),
    readonly options: RagOptions = DEFAULT_RAG_OPTIONS,
    public meta: Record<string, unknown> = {},
  ) {
    if (weights.length !== RANKER_DIM) throw new RangeError(`ranker needs ${RANKER_DIM} weights`);
    if (bias.length !== docs.length) throw new RangeError('one bias per document');
    this.index = new ExactCosineIndex(docs.map((d) => `${d.prompt}\n${d.response}`));
    this.promptIndex = new ExactCosineIndex(docs.map((d) => d.prompt));
    this.responseIndex = new ExactCosineIndex(docs.map((d) => d.response));
  }

  features(query: string, id: number, retrieval?: number): Float64Array {
    const doc = this.docs[id];
    if (!doc) throw new RangeError(`no document ${id}`);
    return Float64Array.from([
      retrieval ?? this.index.similarity(query, id),
      this.promptIndex.similarity(query, id),
      this.responseIndex.similarity(query, id),
      Math.log1p(wordTokens(doc.response).length) / 5,
    ]);
  }

  score(features: Float64Array, id: number, weights = this.weights, bias = this.bias): number {
    let s = bias[id] ?? 0;
    for (let j = 0; j < RANKER_DIM; j++) s += weights[j]! * features[j]!;
    return s;
  }

  /** Retrieved records for `query`, ranked by the learned ranker (best first). `exclude` skips a document. */
  candidates(query: string, exclude?: number): RankedCandidate[] {
    const hits = this.index.search(query, this.options.retrieve + (exclude === undefined ? 0 : 1));
    const out: RankedCandidate[] = [];
    for (const h of hits) {
      if (h.id === exclude || out.length >= this.options.retrieve) continue;
      const features = this.features(query, h.id, h.score);
      out.push({ id: h.id, doc: this.docs[h.id]!, score: this.score(features, h.id), features });
    }
    return out.sort((a, b) => b.score - a.score || a.id - b.id);
  }

  /** The answer and its attribution over the `topK` best-ranked retrieved records. */
  answer(query: string, topK = 5): RagAnswer {
    const ranked = this.candidates(query);
    const best = ranked[0];
    if (!best) throw new Error('the model has no documents to answer from');
    return { text: best.doc.response, used: best.doc, attribution: this.attribute(ranked.slice(0, Math.max(1, topK))) };
  }

  /**
   * Up to `n` distinct answers (best first) and their attribution over the `topK` best-ranked
   * retrieved records, widened to include every record whose response is answered.
   */
  answers(query: string, n: number, topK = 5): { texts: string[]; attribution: Attribution } {
    const ranked = this.candidates(query);
    if (!ranked[0]) throw new Error('the model has no documents to answer from');
    const picked = distinct(ranked, n);
    const last = picked.length ? ranked.indexOf(picked[picked.length - 1]!) : 0;
    return {
      texts: picked.map((c) => c.doc.response),
      attribution: this.attribute(ranked.slice(0, Math.max(1, topK, last + 1))),
    };
  }

  /** Softmax of the ranker scores over the records retrieved and used, summed per contributor. */
  attribute(ranked: RankedCandidate[]): Attribution {
    const top = ranked[0]?.score ?? 0;
    const w = ranked.map((c) => Math.exp((c.score - top) / this.options.temperature));
    const total = w.reduce((a, b) => a + b, 0) || 1;
    const records = ranked.map((c, i) => ({
      hash: c.doc.hash,
      contributor: c.doc.contributor,
      influence: w[i]! / total,
    }));
    const byContributor = new Map<string, number>();
    for (const r of records) byContributor.set(r.contributor, (byContributor.get(r.contributor) ?? 0) + r.influence);
    const contributors = [...byContributor.entries()]
      .map(([contributor, weight]) => ({ contributor, weight }))
      .sort((a, b) => b.weight - a.weight || a.contributor.localeCompare(b.contributor));
    return { contributors, records };
  }

  /** Distinct candidate answers for `query`, best first (RLHF asks reviewers to compare them). */
  distinctAnswers(query: string, n: number): { output: string; score: number }[] {
    return distinct(this.candidates(query), n).map((c) => ({ output: c.doc.response, score: c.score }));
  }

  /** Index of the document whose response is `text` (the first one, when several share it). */
  documentByResponse(text: string): number | undefined {
    if (!this.byResponse) {
      this.byResponse = new Map();
      for (const [i, d] of this.docs.entries())
        if (!this.byResponse.has(d.response)) this.byResponse.set(d.response, i);
    }
    return this.byResponse.get(text);
  }
  private byResponse?: Map<string, number>;

  clone(meta: Record<string, unknown> = this.meta): RagModel {
    return new RagModel(this.docs, Float64Array.from(this.weights), Float64Array.from(this.bias), this.options, meta);
  }
}

/** The first `n` ranked candidates with distinct responses. */
function distinct(ranked: readonly RankedCandidate[], n: number): RankedCandidate[] {
  const out: RankedCandidate[] = [];
  const seen = new Set<string>();
  for (const c of ranked) {
    if (out.length >= n) break;
    if (seen.has(c.doc.response)) continue;
    seen.add(c.doc.response);
    out.push(c);
  }
  return out;
}

export function isRagArtifact(buf: Buffer): boolean {
  return buf.length >= MAGIC.length && buf.subarray(0, MAGIC.length).equals(MAGIC);
}

export function serializeRag(model: RagModel): Buffer {
  const body = JSON.stringify({
    format: RAG_FORMAT,
    options: model.options,
    weights: [...model.weights],
    bias: [...model.bias],
    docs: model.docs,
    meta: model.meta,
  });
  return Buffer.concat([MAGIC, Buffer.from(body, 'utf8')]);
}

export function deserializeRag(buf: Buffer): RagModel {
  if (!isRagArtifact(buf)) throw new Error(`not a ${RAG_FORMAT} artifact`);
  const o = JSON.parse(buf.subarray(MAGIC.length).toString('utf8')) as {
    options: RagOptions;
    weights: number[];
    bias: number[];
    docs: RagDocument[];
    meta: Record<string, unknown>;
  };
  return new RagModel(o.docs, Float64Array.from(o.weights), Float64Array.from(o.bias), o.options, o.meta);
}
