/**
 * The embedded generative model: retrieval-augmented answering over a dataset version. The
 * artifact holds the retrieval index (the training records' prompts and responses) and a learned
 * linear ranker. An answer is the response of the best-ranked retrieved record, so every word of
 * it comes from a contributed record; it is attributed to the records retrieved for it, weighted by
 * the ranker's softmax, and the record that supplied the answer carries most of the weight.
 *
 * A model trained on a private Datanet keeps no record text (`withoutText`): its artifact holds the
 * records' hashes, contributors and hashed n-gram vectors, ranks exactly as the text-backed model
 * did, and answers without quoting: it says which records (by hash) answer the question, attributed
 * the same way, and never returns their words.
 */
import { wordTokens } from '../../domain/data/tokenize.js';
import type { Attribution } from '../embedded/influence.js';
import type { SparseVector } from '../embedded/features.js';
import { ExactCosineIndex } from './retrieval.js';

export const RAG_FORMAT = 'commons-rag/1';
const MAGIC = Buffer.from(`${RAG_FORMAT}\n`, 'utf8');

/** What a document is known by, with or without its text. */
export interface RagSource {
  hash: string;
  contributor: string;
}

export interface RagDocument extends RagSource {
  prompt: string;
  response: string;
}

/** A document without its text: its hashed n-gram vectors and response length (what ranking reads). */
export interface SealedRagDocument extends RagSource {
  vectors: { all: SparseVector; prompt: SparseVector; response: SparseVector };
  responseTokens: number;
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
  source: RagSource;
  score: number;
  features: Float64Array;
}

export interface RagAnswer {
  text: string;
  /** The record whose response is the answer (named, not quoted, by a model without text). */
  used: RagSource;
  attribution: Attribution;
}

/** What a model without record text answers: the records that answer, by hash, never their words. */
export function noQuoteAnswer(ranked: readonly { source: RagSource; weight: number }[]): string {
  const named = ranked.map((r) => `${r.source.hash} (${(r.weight * 100).toFixed(1)}%)`).join(', ');
  return `This model was trained on private records and does not quote them. The records that answer this are: ${named}.`;
}

export class RagModel {
  readonly index: ExactCosineIndex;
  private readonly promptIndex: ExactCosineIndex;
  private readonly responseIndex: ExactCosineIndex;
  private readonly responseTokens: number[];
  readonly sources: RagSource[];
  /** The records' prompts and responses; absent from a model trained on private records. */
  readonly docs: RagDocument[] | undefined;

  constructor(
    documents: RagDocument[] | SealedRagDocument[],
    /** Ranker weights, one per RANKER_FEATURES entry. */
    readonly weights: Float64Array = Float64Array.from([1, 0, 0, 0]),
    /** Per-document bias learned from reviewer preferences (0 until a preference update). */
    readonly bias: Float64Array = new Float64Array(documents.length),
    readonly options: RagOptions = DEFAULT_RAG_OPTIONS,
    public meta: Record<string, unknown> = {},
  ) {
    if (weights.length !== RANKER_DIM) throw new RangeError(`ranker needs ${RANKER_DIM} weights`);
    if (bias.length !== documents.length) throw new RangeError('one bias per document');
    this.sources = documents.map((d) => ({ hash: d.hash, contributor: d.contributor }));
    if (documents.every(isSealed)) {
      this.docs = undefined;
      this.index = ExactCosineIndex.ofVectors(documents.map((d) => d.vectors.all));
      this.promptIndex = ExactCosineIndex.ofVectors(documents.map((d) => d.vectors.prompt));
      this.responseIndex = ExactCosineIndex.ofVectors(documents.map((d) => d.vectors.response));
      this.responseTokens = documents.map((d) => d.responseTokens);
    } else {
      const docs = (this.docs = documents);
      this.index = new ExactCosineIndex(docs.map((d) => `${d.prompt}\n${d.response}`));
      this.promptIndex = new ExactCosineIndex(docs.map((d) => d.prompt));
      this.responseIndex = new ExactCosineIndex(docs.map((d) => d.response));
      this.responseTokens = docs.map((d) => wordTokens(d.response).length);
    }
  }

  /** Whether the model can quote its records (false: trained on private records). */
  get quotes(): boolean {
    return this.docs !== undefined;
  }

  /** The documents as a model without text keeps them: hashes, contributors, vectors. */
  sealedDocuments(): SealedRagDocument[] {
    const index = this.index;
    return this.sources.map((s, id) => ({
      ...s,
      vectors: { all: index.vector(id), prompt: this.promptIndex.vector(id), response: this.responseIndex.vector(id) },
      responseTokens: this.responseTokens[id]!, // one per source
    }));
  }

  /** The same model without its records' text: it ranks alike and answers without quoting. */
  withoutText(meta: Record<string, unknown> = this.meta): RagModel {
    return new RagModel(
      this.sealedDocuments(),
      Float64Array.from(this.weights),
      Float64Array.from(this.bias),
      this.options,
      meta,
    );
  }

  features(query: string, id: number, retrieval?: number): Float64Array {
    const tokens = this.responseTokens[id];
    if (tokens === undefined) throw new RangeError(`no document ${id}`);
    return Float64Array.from([
      retrieval ?? this.index.similarity(query, id),
      this.promptIndex.similarity(query, id),
      this.responseIndex.similarity(query, id),
      Math.log1p(tokens) / 5,
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
      out.push({ id: h.id, source: this.sources[h.id]!, score: this.score(features, h.id), features });
    }
    return out.sort((a, b) => b.score - a.score || a.id - b.id);
  }

  /** The response of document `id` (a model without text has none to give). */
  response(id: number): string {
    const doc = this.docs?.[id];
    if (!doc)
      throw new Error(this.docs ? `no document ${id}` : 'this model was trained on private records: it quotes none');
    return doc.response;
  }

  /** The answer and its attribution over the `topK` best-ranked retrieved records. */
  answer(query: string, topK = 5): RagAnswer {
    const ranked = this.candidates(query);
    const best = ranked[0];
    if (!best) throw new Error('the model has no documents to answer from');
    const attribution = this.attribute(ranked.slice(0, Math.max(1, topK)));
    const text = this.quotes
      ? this.response(best.id)
      : noQuoteAnswer(attribution.records.map((r, i) => ({ source: ranked[i]!.source, weight: r.influence })));
    return { text, used: best.source, attribution };
  }

  /**
   * Up to `n` distinct answers (best first) and their attribution over the `topK` best-ranked
   * retrieved records, widened to include every record whose response is answered. A model without
   * record text has one answer: the records that answer, named by hash.
   */
  answers(query: string, n: number, topK = 5): { texts: string[]; attribution: Attribution } {
    const ranked = this.candidates(query);
    if (!ranked[0]) throw new Error('the model has no documents to answer from');
    if (!this.quotes) {
      const { text, attribution } = this.answer(query, topK);
      return { texts: [text], attribution };
    }
    const picked = this.distinct(ranked, n);
    const last = picked.length ? ranked.indexOf(picked[picked.length - 1]!) : 0;
    return {
      texts: picked.map((c) => this.response(c.id)),
      attribution: this.attribute(ranked.slice(0, Math.max(1, topK, last + 1))),
    };
  }

  /** The first `n` ranked candidates with distinct responses. */
  private distinct(ranked: readonly RankedCandidate[], n: number): RankedCandidate[] {
    const out: RankedCandidate[] = [];
    const seen = new Set<string>();
    for (const c of ranked) {
      if (out.length >= n) break;
      const response = this.response(c.id);
      if (seen.has(response)) continue;
      seen.add(response);
      out.push(c);
    }
    return out;
  }

  /** Softmax of the ranker scores over the records retrieved and used, summed per contributor. */
  attribute(ranked: RankedCandidate[]): Attribution {
    const top = ranked[0]?.score ?? 0;
    const w = ranked.map((c) => Math.exp((c.score - top) / this.options.temperature));
    const total = w.reduce((a, b) => a + b, 0) || 1;
    const records = ranked.map((c, i) => ({
      hash: c.source.hash,
      contributor: c.source.contributor,
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
    return this.distinct(this.candidates(query), n).map((c) => ({ output: this.response(c.id), score: c.score }));
  }

  /** Index of the document whose response is `text` (the first one, when several share it). */
  documentByResponse(text: string): number | undefined {
    if (!this.byResponse) {
      this.byResponse = new Map();
      for (const [i] of this.sources.entries()) {
        const response = this.response(i);
        if (!this.byResponse.has(response)) this.byResponse.set(response, i);
      }
    }
    return this.byResponse.get(text);
  }
  private byResponse?: Map<string, number>;
}

const isSealed = (d: RagDocument | SealedRagDocument): d is SealedRagDocument => 'vectors' in d;

export function isRagArtifact(buf: Buffer): boolean {
  return buf.length >= MAGIC.length && buf.subarray(0, MAGIC.length).equals(MAGIC);
}

/** A sparse vector as JSON (ids and values as arrays). */
const vectorJson = (v: SparseVector) => ({ i: [...v.indices], v: [...v.values] });
const vectorOf = (o: { i: number[]; v: number[] }): SparseVector => ({
  indices: Uint32Array.from(o.i),
  values: Float32Array.from(o.v),
});

type SealedDocJson = RagSource & {
  vectors: Record<'all' | 'prompt' | 'response', { i: number[]; v: number[] }>;
  responseTokens: number;
};

export function serializeRag(model: RagModel): Buffer {
  const body = JSON.stringify({
    format: RAG_FORMAT,
    options: model.options,
    weights: [...model.weights],
    bias: [...model.bias],
    ...(model.docs
      ? { docs: model.docs }
      : {
          sealedDocs: model.sealedDocuments().map((d): SealedDocJson => ({
            hash: d.hash,
            contributor: d.contributor,
            vectors: {
              all: vectorJson(d.vectors.all),
              prompt: vectorJson(d.vectors.prompt),
              response: vectorJson(d.vectors.response),
            },
            responseTokens: d.responseTokens,
          })),
        }),
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
    docs?: RagDocument[];
    sealedDocs?: SealedDocJson[];
    meta: Record<string, unknown>;
  };
  const docs =
    o.docs ??
    (o.sealedDocs ?? []).map((d): SealedRagDocument => ({
      hash: d.hash,
      contributor: d.contributor,
      vectors: {
        all: vectorOf(d.vectors.all),
        prompt: vectorOf(d.vectors.prompt),
        response: vectorOf(d.vectors.response),
      },
      responseTokens: d.responseTokens,
    }));
  return new RagModel(docs, Float64Array.from(o.weights), Float64Array.from(o.bias), o.options, o.meta);
}
