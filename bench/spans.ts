// `npm run bench:spans`: span attribution (ml/spans) at scale, in process, no stack. The training
// text is the SpamAssassin corpus (real mail, ~2M words) topped up to BENCH_SPAN_TOKENS (default
// 10,000,000) with records sampled from a word-bigram model of it, so the top-up has the corpus's
// word frequencies and common phrases. It reports the index build (tokenizing, suffix array,
// packing), its bytes per token, and on one core, per 256-word answer:
// - planted: unrelated text (the health Q&A corpus) with BENCH_SPAN_PLANT (12) consecutive words of
//   a random training record planted at a random place; recall = the planted record is among the
//   top 5 records named (a phrase many records share, such as a list footer, names others first);
//   span found = a qualifying span overlaps the planted words;
// - unrelated: 256 words of the health Q&A corpus alone; false match = some span qualified;
// - verbatim: 256 consecutive words of the training text (the slowest case: every start matches long);
// for minimum span lengths 4, 6 (the default) and 8. Latency is for attributeSpans (tokenizing the
// answer, matching, weighting); nothing is asserted.
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { wordTokens } from '../domain/data/tokenize.js';
import { mulberry32 } from '../domain/prng.js';
import { loadSpamAssassin } from '../ml/embedded/corpus.js';
import { syntheticQa } from '../ml/generative/synthetic-qa.js';
import { DEFAULT_SPAN_OPTIONS, SpanIndex, SpanIndexBuilder, attributeSpans } from '../ml/spans/index.js';

const TARGET = Number(process.env.BENCH_SPAN_TOKENS ?? 10_000_000);
const ANSWERS = Number(process.env.BENCH_SPAN_ANSWERS ?? 300);
const PLANT = Number(process.env.BENCH_SPAN_PLANT ?? 12);
const ANSWER_WORDS = 256;
const log = (m: string) => console.log(`[bench:spans] ${m}`);
const rand = mulberry32(0x5ba5);
const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
const hash = (s: string) => createHash('sha256').update(s).digest('hex');

log(
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; target ${TARGET.toLocaleString()} tokens`,
);

// Training text: the real mails, then bigram samples of them until the target is reached.
const mails = loadSpamAssassin().map((r) => wordTokens(r.text));
const next = new Map<string, string[]>();
for (const w of mails)
  for (let i = 0; i + 1 < w.length; i++) {
    const list = next.get(w[i]!);
    if (list) list.push(w[i + 1]!);
    else next.set(w[i]!, [w[i + 1]!]);
  }
const starts = mails.filter((w) => w.length).map((w) => w[0]!);
const records: string[][] = [];
let total = 0;
for (const w of mails) {
  if (total >= TARGET) break;
  records.push(w);
  total += w.length + 1;
}
while (total < TARGET) {
  const len = 50 + Math.floor(rand() * 300);
  const w = [pick(starts)];
  while (w.length < len) w.push(pick(next.get(w[w.length - 1]!) ?? starts));
  records.push(w);
  total += w.length + 1;
}
log(
  `${records.length.toLocaleString()} records (${mails.length.toLocaleString()} real mails), ${total.toLocaleString()} tokens`,
);

const t0 = performance.now();
const rss0 = process.memoryUsage().rss;
const builder = new SpanIndexBuilder();
for (const [i, w] of records.entries())
  builder.add({ hash: hash(String(i)), contributor: `c${i % 1000}` }, [w.join(' ')]);
const t1 = performance.now();
const files = builder.build();
const t2 = performance.now();
const index = SpanIndex.fromFiles(files);
const h = files.header;
log(
  `build ${((t2 - t0) / 1000).toFixed(1)} s (tokenize ${((t1 - t0) / 1000).toFixed(1)} s, vocabulary + suffix array + packing ${((t2 - t1) / 1000).toFixed(1)} s), RSS +${((process.memoryUsage().rss - rss0) / 2 ** 20).toFixed(0)} MiB`,
);
log(
  `index ${(index.bytes / 2 ** 20).toFixed(1)} MiB = ${(index.bytes / h.tokens).toFixed(2)} bytes/token (tokens ${h.tokenBytes} B, suffix array ${h.saBytes} B, vocabulary ${h.vocabulary.toLocaleString()} words, records ${((40 * h.records) / h.tokens).toFixed(2)} B/token)`,
);

// Unrelated text: the health Q&A answers, 256 words at a time.
const qa = syntheticQa({ perTopic: 40, seed: 11 }).map((r) => wordTokens(r.answer));
function unrelated(): string[] {
  const out: string[] = [];
  while (out.length < ANSWER_WORDS) out.push(...pick(qa));
  return out.slice(0, ANSWER_WORDS);
}
function planted(): { words: string[]; record: number; at: number } {
  let record = Math.floor(rand() * records.length);
  while (records[record]!.length < PLANT) record = Math.floor(rand() * records.length);
  const src = records[record]!;
  const from = Math.floor(rand() * (src.length - PLANT + 1));
  const words = unrelated().slice(0, ANSWER_WORDS - PLANT);
  const at = Math.floor(rand() * (words.length + 1));
  words.splice(at, 0, ...src.slice(from, from + PLANT));
  return { words, record, at };
}
function verbatim(): string[] {
  let r = Math.floor(rand() * records.length);
  while (records[r]!.length < ANSWER_WORDS) r = Math.floor(rand() * records.length);
  const from = Math.floor(rand() * (records[r]!.length - ANSWER_WORDS + 1));
  return records[r]!.slice(from, from + ANSWER_WORDS);
}
const plantedSet = Array.from({ length: ANSWERS }, planted);
const unrelatedSet = Array.from({ length: ANSWERS }, unrelated);
const verbatimSet = Array.from({ length: Math.min(ANSWERS, 100) }, verbatim);

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const ms = (xs: number[]) => `p50 ${pct(xs, 0.5).toFixed(2)} ms, p99 ${pct(xs, 0.99).toFixed(2)} ms`;

for (const minLength of [4, 6, 8]) {
  const o = { ...DEFAULT_SPAN_OPTIONS, minLength };
  const timed = (words: string[]) => {
    const s = performance.now();
    const a = attributeSpans(index, [words.join(' ')], 5, o);
    return { a, ms: performance.now() - s };
  };
  const p = plantedSet.map(({ words, record, at }) => {
    const { a, ms } = timed(words);
    return {
      ms,
      found: !!a?.attribution.records.some((r) => r.hash === hash(String(record))),
      span: !!a?.spans.some((s) => s.start < at + PLANT && s.start + s.length > at),
    };
  });
  const u = unrelatedSet.map((w) => timed(w));
  const v = verbatimSet.map((w) => timed(w));
  log(
    `min ${minLength}${minLength === DEFAULT_SPAN_OPTIONS.minLength ? ' (default)' : ''}: planted recall ${(p.filter((x) => x.found).length / p.length).toFixed(3)} (span found ${(p.filter((x) => x.span).length / p.length).toFixed(3)}; ${ms(p.map((x) => x.ms))}); ` +
      `false match ${(u.filter((x) => x.a).length / u.length).toFixed(3)} (${ms(u.map((x) => x.ms))}); verbatim ${ms(v.map((x) => x.ms))}`,
  );
}
log(
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
