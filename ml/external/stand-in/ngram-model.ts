/**
 * The stand-in upstream's language model: an interpolated word-level trigram model over the
 * adapter's training responses, conditioned on the conversation by mixing in a local model of the
 * responses to the most similar training prompts (and any tool results in the conversation). It
 * generates token by token by sampling, honouring temperature and top-p with a seeded source, so
 * its outputs are real generations: new text no record contains, not fixtures.
 */
import { ExactCosineIndex } from '../../generative/retrieval.js';
import { textTokens } from '../../serving/tokens.js';
import type { Rng } from './rng.js';

export interface TrainingPair {
  prompt: string;
  response: string;
  /** How much the record counts (a preference update raises chosen answers and lowers rejected ones). */
  weight?: number;
}

const BOS = '\u0002';
export const EOS = '\u0003';
/** Interpolation weights of the trigram, bigram and unigram estimates. */
const LAMBDA = [0.75, 0.2, 0.05] as const;
/** Weight of the conversation-local model against the whole adapter's. */
const LOCAL = 0.85;
/** Neighbouring records that condition a generation. */
const NEIGHBOURS = 3;

type Counts = Map<string, Map<string, number>>;

class Table {
  /** Context key (the previous 0, 1 or 2 tokens) → next token → weighted count. */
  readonly orders: [Counts, Counts, Counts] = [
    new Map<string, Map<string, number>>(),
    new Map<string, Map<string, number>>(),
    new Map<string, Map<string, number>>(),
  ];

  add(tokens: readonly string[], weight: number): void {
    const seq = [BOS, BOS, ...tokens, EOS];
    for (let i = 2; i < seq.length; i++) {
      const next = seq[i]!;
      const keys = ['', seq[i - 1]!, `${seq[i - 2]!}\u0000${seq[i - 1]!}`];
      for (let o = 0; o < 3; o++) {
        const m = this.orders[o]!;
        let row = m.get(keys[o]!);
        if (!row) m.set(keys[o]!, (row = new Map<string, number>()));
        row.set(next, (row.get(next) ?? 0) + weight);
      }
    }
  }

  /** Interpolated next-token distribution after `prev2 prev1` (unnormalised weights over seen continuations). */
  distribution(prev2: string, prev1: string): Map<string, number> {
    const out = new Map<string, number>();
    const rows = [
      this.orders[2].get(`${prev2}\u0000${prev1}`),
      this.orders[1].get(prev1),
      // The unigram tail only when nothing longer has been seen: it would otherwise spread mass thin.
      undefined as Map<string, number> | undefined,
    ];
    if (!rows[0] && !rows[1]) rows[2] = this.orders[0].get('');
    let used = 0;
    for (let o = 0; o < 3; o++) if (rows[o]) used += LAMBDA[o]!;
    for (let o = 0; o < 3; o++) {
      const row = rows[o];
      if (!row) continue;
      let total = 0;
      for (const c of row.values()) total += c;
      for (const [t, c] of row) out.set(t, (out.get(t) ?? 0) + ((LAMBDA[o]! / used) * c) / total);
    }
    return out;
  }
}

export interface SampleOptions {
  temperature: number;
  topP: number;
  rng: Rng;
}

/** Picks a token: greedy at temperature 0, else from the tempered distribution cut to its top-p nucleus. */
export function sample(dist: Map<string, number>, o: SampleOptions): { token: string; logprob: number } {
  const entries = [...dist].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const total = entries.reduce((s, e) => s + e[1], 0);
  if (!entries.length || total <= 0) return { token: EOS, logprob: 0 };
  if (o.temperature <= 0) return { token: entries[0]![0], logprob: Math.log(entries[0]![1] / total) };
  const tempered = entries.map(([t, p]) => [t, Math.pow(p / total, 1 / o.temperature)] as const);
  const z = tempered.reduce((s, e) => s + e[1], 0);
  const nucleus: (readonly [string, number])[] = [];
  let mass = 0;
  for (const e of tempered) {
    nucleus.push(e);
    mass += e[1] / z;
    if (mass >= o.topP) break;
  }
  const nz = nucleus.reduce((s, e) => s + e[1], 0);
  let r = o.rng() * nz;
  for (const [t, w] of nucleus) {
    r -= w;
    if (r <= 0) return { token: t, logprob: Math.log(dist.get(t)! / total) };
  }
  const last = nucleus[nucleus.length - 1]!;
  return { token: last[0], logprob: Math.log(dist.get(last[0])! / total) };
}

export class NgramModel {
  private readonly global = new Table();
  private readonly tokens: string[][];
  private readonly index: ExactCosineIndex;

  constructor(readonly pairs: readonly TrainingPair[]) {
    this.tokens = pairs.map((p) => textTokens(p.response.trim()));
    for (const [i, p] of pairs.entries()) this.global.add(this.tokens[i]!, p.weight ?? 1);
    this.index = new ExactCosineIndex(pairs.map((p) => p.prompt));
  }

  /** A generator of tokens for `context` (the conversation's text) plus `extra` texts it may copy from (tool results). */
  decoder(context: string, extra: readonly string[] = []): Decoder {
    const local = new Table();
    if (this.pairs.length)
      for (const h of this.index.search(context, NEIGHBOURS))
        if (h.score > 0) local.add(this.tokens[h.id]!, h.score * (this.pairs[h.id]!.weight ?? 1));
    for (const t of extra) local.add(textTokens(t.trim()), 2);
    return new Decoder(this.global, local);
  }
}

/** A whole answer for `context`: its text and mean log-probability per token (how sure the model was). */
export function generate(
  model: NgramModel,
  context: string,
  sampling: SampleOptions,
  maxTokens: number,
): { text: string; meanLogprob: number } {
  const d = model.decoder(context);
  let text = '';
  let logprob = 0;
  let n = 0;
  for (; n < maxTokens; n++) {
    const s = d.next(sampling);
    logprob += s.logprob;
    if (s.token === EOS) break;
    text += s.token;
  }
  return { text: text.trim(), meanLogprob: logprob / Math.max(1, n) };
}

/**
 * Weight kept by a continuation that would repeat a trigram already generated: a trigram model
 * otherwise loops on a cycle in its data forever (real models carry a repetition penalty too).
 */
const REPEAT_PENALTY = 0.05;

/** One generation's state: the tokens so far; `next` samples the following one (EOS ends it). */
export class Decoder {
  private prev: [string, string] = [BOS, BOS];
  private readonly seen = new Set<string>();

  constructor(
    private readonly global: Table,
    private readonly local: Table,
  ) {}

  next(o: SampleOptions): { token: string; logprob: number } {
    const [p2, p1] = this.prev;
    const g = this.global.distribution(p2, p1);
    const l = this.local.distribution(p2, p1);
    const mixed = new Map<string, number>();
    const wl = l.size ? LOCAL : 0;
    for (const [t, p] of g) mixed.set(t, (1 - wl) * p);
    for (const [t, p] of l) mixed.set(t, (mixed.get(t) ?? 0) + wl * p);
    for (const [t, p] of mixed) if (this.seen.has(`${p2}\u0000${p1}\u0000${t}`)) mixed.set(t, p * REPEAT_PENALTY);
    const s = sample(mixed, o);
    this.seen.add(`${p2}\u0000${p1}\u0000${s.token}`);
    this.prev = [p1, s.token];
    return s;
  }
}
