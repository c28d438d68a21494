/** A small seeded synthetic text-classification task for tests and smoke runs. */
import { mulberry32 } from '../../domain/prng.js';

const TOPICS: Record<string, string[]> = {
  sports: [
    'match',
    'goal',
    'team',
    'coach',
    'league',
    'score',
    'player',
    'stadium',
    'referee',
    'season',
    'striker',
    'tournament',
  ],
  cooking: [
    'recipe',
    'oven',
    'flour',
    'garlic',
    'simmer',
    'sauce',
    'bake',
    'onion',
    'butter',
    'chef',
    'roast',
    'seasoning',
  ],
  finance: [
    'market',
    'stock',
    'bond',
    'interest',
    'inflation',
    'dividend',
    'investor',
    'bank',
    'portfolio',
    'earnings',
    'currency',
    'loan',
  ],
};
const FILLER = [
  'the',
  'a',
  'today',
  'really',
  'about',
  'with',
  'new',
  'this',
  'was',
  'great',
  'some',
  'people',
  'said',
  'after',
  'week',
  'good',
];

export interface SyntheticRecord {
  hash: string;
  contributor: string;
  text: string;
  label: string;
}

export const SYNTHETIC_LABELS = Object.keys(TOPICS);

/** `n` documents, ~40% topic words (so single words are noisy but documents are separable). */
export function syntheticDataset(n: number, seed = 7, contributors = 5): SyntheticRecord[] {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => {
    const x = xs[Math.floor(rand() * xs.length)];
    if (x === undefined) throw new RangeError('syntheticDataset: picking from an empty list');
    return x;
  };
  const topic = (label: string): string[] => {
    const words = TOPICS[label];
    if (!words) throw new RangeError(`syntheticDataset: no topic words for ${label}`);
    return words;
  };
  const out: SyntheticRecord[] = [];
  for (let i = 0; i < n; i++) {
    const label = SYNTHETIC_LABELS[i % SYNTHETIC_LABELS.length]!; // i mod length is in range
    const len = 8 + Math.floor(rand() * 8);
    const words: string[] = [];
    for (let j = 0; j < len; j++) {
      const r = rand();
      words.push(r < 0.4 ? pick(topic(label)) : r < 0.5 ? pick(topic(pick(SYNTHETIC_LABELS))) : pick(FILLER));
    }
    out.push({ hash: `h${seed}-${i}`, contributor: `c${i % contributors}`, text: words.join(' '), label });
  }
  return out;
}
