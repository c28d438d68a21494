/**
 * Synthetic Datanet contributions for bench:data: on-topic email-like texts from a seeded
 * generator, with exact duplicates (same text, other account), near-duplicates (two words changed,
 * other account) and off-topic records mixed in at fixed rates.
 */
import { mulberry32 } from '../domain/prng.js';

const SPAM =
  'free offer winner claim prize money cash bonus click link unsubscribe limited deal guaranteed credit loan viagra casino urgent act now discount cheap pills investment'.split(
    ' ',
  );
const HAM =
  'meeting project report schedule team review deadline lunch thanks attached document question update notes call tomorrow budget plan release code patch'.split(
    ' ',
  );
export const COMMON =
  'the a to and of in for on with your you we our this that is are be will it as at from please email message'.split(
    ' ',
  );
const OFF_TOPIC =
  'recipe oven flour sugar butter bake whisk eggs garden tomato football match goal stadium guitar chord melody hiking trail mountain'.split(
    ' ',
  );

export interface SyntheticRecord {
  text: string;
  label: 'spam' | 'ham';
  kind: 'unique' | 'duplicate' | 'near-duplicate' | 'off-topic';
}

/** Streams `n` records; duplicates copy one of the last 10,000 records, so memory stays flat at any n. */
export function* syntheticRecords(
  n: number,
  seed = 42,
  rates = { duplicate: 0.05, nearDuplicate: 0.05, offTopic: 0.03 },
): Generator<SyntheticRecord> {
  const rand = mulberry32(seed);
  /** A random element of a non-empty list. */
  const pick = <T>(arr: readonly T[]): T => {
    const v = arr[Math.floor(rand() * arr.length)];
    if (v === undefined) throw new RangeError('pick from an empty list');
    return v;
  };
  const recent: SyntheticRecord[] = [];
  const RECENT = 10_000;
  for (let i = 0; i < n; i++) {
    const r = rand();
    let rec: SyntheticRecord | undefined;
    if (recent.length > 10 && r < rates.duplicate) {
      const src = pick(recent);
      rec = { text: src.text, label: src.label, kind: 'duplicate' };
    } else if (recent.length > 10 && r < rates.duplicate + rates.nearDuplicate) {
      const src = pick(recent);
      const words = src.text.split(' ');
      words[1 + Math.floor(rand() * (words.length - 1))] = pick(COMMON);
      words[1 + Math.floor(rand() * (words.length - 1))] = pick(COMMON);
      rec = { text: words.join(' '), label: src.label, kind: 'near-duplicate' };
    } else {
      const offTopic = r > 1 - rates.offTopic;
      const label: 'spam' | 'ham' = rand() < 0.4 ? 'spam' : 'ham';
      const vocab = offTopic ? OFF_TOPIC : label === 'spam' ? SPAM : HAM;
      const len = 40 + Math.floor(rand() * 40);
      const words: string[] = [`msg${i}`];
      for (let w = 0; w < len; w++) words.push(rand() < 0.55 ? pick(vocab) : pick(COMMON));
      rec = { text: words.join(' '), label, kind: offTopic ? 'off-topic' : 'unique' };
      if (recent.length < RECENT) recent.push(rec);
      else recent[i % RECENT] = rec;
    }
    yield rec;
  }
}

const SPAM_WORDS = new Set(SPAM);
const HAM_WORDS = new Set(HAM);
/**
 * The label a synthetic record was generated with, read back from its words (each record draws
 * from its label's vocabulary only): what an honest reviewer answers in bench:lifecycle's RLHF
 * round, without keeping a million records in memory.
 */
export function syntheticLabelOf(text: string): 'spam' | 'ham' {
  let spam = 0;
  let ham = 0;
  for (const w of text.split(' ')) {
    if (SPAM_WORDS.has(w)) spam++;
    else if (HAM_WORDS.has(w)) ham++;
  }
  return spam > ham ? 'spam' : 'ham';
}
