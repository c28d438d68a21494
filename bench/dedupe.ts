/**
 * bench:dedupe — recall of near-copies and false positives of the near-duplicate rule, measured
 * through the same steps the data activities run: the first record owns each LSH band key, a later
 * record sharing a band with an earlier owner is a candidate, confirmed when the b-bit sketch
 * Jaccard reaches NEAR_DUPLICATE_JACCARD (exact copies of the normalised text are counted apart).
 *
 * - near-copies: records made as scenarios/synthetic.ts makes them (words at random positions replaced
 *   by common words), with 1 to 5 edits, over synthetic records and SpamAssassin mails;
 * - false positives: distinct synthetic records, and SpamAssassin mails (a flag there is a false
 *   positive when the pair's word-level edit similarity, 1 - Levenshtein / length, is below 0.5; the corpus has real
 *   near-copies, e.g. campaign spam, which are right to flag).
 *
 * DEDUPE_RECORDS (default 2000) sets the number of synthetic records and sources.
 */
import {
  bandKeys,
  exactKey,
  minhashSignature,
  NEAR_DUPLICATE_JACCARD,
  normaliseText,
  sketchJaccard,
  sketchOf,
} from '../domain/data/minhash.js';
import { mulberry32 } from '../domain/prng.js';
import { loadSpamAssassin } from '../ml/embedded/corpus.js';
import { COMMON, syntheticRecords } from '../scenarios/synthetic.js';

interface Indexed {
  id: number;
  sketch: Uint8Array;
}

/** The activities' two passes collapsed into one ordered pass (record order = seq). */
export class Deduper {
  private readonly owners = new Map<string, Indexed>();
  private readonly exact = new Map<string, number>();

  /** Adds the record; returns the earlier record it duplicates (or undefined) and how. */
  add(id: number, text: string): { of: number; exact: boolean } | undefined {
    const ek = exactKey(text);
    const prior = this.exact.get(ek);
    if (prior !== undefined) return { of: prior, exact: true };
    this.exact.set(ek, id);
    const sig = minhashSignature(text);
    const me: Indexed = { id, sketch: sketchOf(sig) };
    let best: { of: number; j: number } | undefined;
    for (const key of bandKeys(sig)) {
      const o = this.owners.get(key);
      if (!o) {
        this.owners.set(key, me);
        continue;
      }
      const j = sketchJaccard(me.sketch, o.sketch);
      if (j >= NEAR_DUPLICATE_JACCARD && (!best || j > best.j)) best = { of: o.id, j };
    }
    return best ? { of: best.of, exact: false } : undefined;
  }
}

export function editWords(text: string, edits: number, rand: () => number): string {
  const words = text.split(' ');
  for (let e = 0; e < edits; e++) {
    words[1 + Math.floor(rand() * (words.length - 1))] = COMMON[Math.floor(rand() * COMMON.length)] ?? 'the';
  }
  return words.join(' ');
}

/** Word-level edit similarity, 1 - Levenshtein(words) / max(length): the reference for false positives. */
function editSimilarity(a: string, b: string): number {
  const x = normaliseText(a).split(' ');
  const y = normaliseText(b).split(' ');
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1));
    }
    prev = cur;
  }
  return 1 - (prev[y.length] ?? 0) / Math.max(x.length, y.length, 1);
}

/** Share of near-copies (source indexed first) caught as near-duplicates of their source. */
function recall(sources: string[], edits: number, seed: number): number {
  const d = new Deduper();
  sources.forEach((t, i) => d.add(i, t));
  const rand = mulberry32(seed);
  let caught = 0;
  let n = 0;
  sources.forEach((t, i) => {
    if (t.split(' ').length < 2) return;
    const copy = editWords(t, edits, rand);
    if (normaliseText(copy) === normaliseText(t)) return; // the edits changed nothing
    n++;
    const v = d.add(sources.length + i, copy);
    if (v && v.of === i) caught++;
  });
  return caught / Math.max(1, n);
}

export function measure(records = 2000) {
  const synthetic: string[] = [];
  for (const r of syntheticRecords(records, 4242, { duplicate: 0, nearDuplicate: 0, offTopic: 0.03 }))
    synthetic.push(r.text);
  const corpus = loadSpamAssassin({ seed: 3 }).map((c) => c.text);
  const corpusSources = corpus.filter((t) => t.split(' ').length >= 20).slice(0, records);

  const recallRows = [1, 2, 3, 4, 5].map((edits) => ({
    edits,
    synthetic: recall(synthetic, edits, 100 + edits),
    corpus: recall(corpusSources, edits, 200 + edits),
  }));

  const dSyn = new Deduper();
  let synFlagged = 0;
  synthetic.forEach((t, i) => {
    if (dSyn.add(i, t)) synFlagged++;
  });

  const dCorpus = new Deduper();
  let corpusFlagged = 0;
  let corpusExact = 0;
  let corpusFalse = 0;
  const simBuckets = [0, 0, 0, 0];
  corpus.forEach((t, i) => {
    const v = dCorpus.add(i, t);
    if (!v) return;
    if (v.exact) corpusExact++;
    else {
      corpusFlagged++;
      const sim = editSimilarity(t, corpus[v.of] ?? '');
      const bucket = sim < 0.5 ? 0 : sim < 0.7 ? 1 : sim < 0.9 ? 2 : 3;
      simBuckets[bucket] = (simBuckets[bucket] ?? 0) + 1;
      if (sim < 0.5) corpusFalse++;
    }
  });
  return {
    recallRows,
    synthetic: { records: synthetic.length, flagged: synFlagged },
    corpus: {
      records: corpus.length,
      exact: corpusExact,
      nearFlagged: corpusFlagged,
      falsePositives: corpusFalse,
      simBuckets,
    },
  };
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const t0 = Date.now();
  const m = measure(Number(process.env.DEDUPE_RECORDS ?? 2000));
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log('near-copy recall (caught as near-duplicate of their source)');
  console.log('| words edited | synthetic | SpamAssassin (≥ 20 words) |');
  console.log('|---|---|---|');
  for (const r of m.recallRows) console.log(`| ${r.edits} | ${pct(r.synthetic)} | ${pct(r.corpus)} |`);
  console.log('\nfalse positives');
  console.log(
    `synthetic distinct records: ${m.synthetic.flagged} of ${m.synthetic.records} flagged (${pct(m.synthetic.flagged / m.synthetic.records)})`,
  );
  console.log(
    `SpamAssassin: ${m.corpus.records} mails, ${m.corpus.exact} exact copies, ${m.corpus.nearFlagged} near-duplicates flagged, ` +
      `${m.corpus.falsePositives} of them with word edit similarity < 0.5 (false positives, ${pct(m.corpus.falsePositives / m.corpus.records)})`,
  );
  const [b0, b1, b2, b3] = m.corpus.simBuckets;
  console.log(
    `flagged SpamAssassin pairs by word edit similarity: <0.5 ${b0}, 0.5-0.7 ${b1}, 0.7-0.9 ${b2}, >=0.9 ${b3}`,
  );
  console.log(`(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
