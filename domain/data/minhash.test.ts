import { describe, expect, it } from 'vitest';
import {
  BANDS,
  LshIndex,
  NEAR_DUPLICATE_JACCARD,
  NUM_PERM,
  bandKeys,
  decodeSignature,
  encodeSignature,
  estimateJaccard,
  exactKey,
  minhashSignature,
  shingleHashes,
  sketchJaccard,
  sketchOf,
} from './minhash.js';
import { mulberry32 } from '../prng.js';

/** xs[i] for an index the test knows is in range; fails the test naming the index otherwise. */
function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i} (length ${xs.length})`);
  return x;
}

// Deterministic generator, so runs are reproducible.
const prng = mulberry32;
const VOCAB = (
  'the a of to and in offer free click money meeting schedule project report team budget review ' +
  'account password update server release version customer invoice payment order shipping delivery ' +
  'garden recipe flour oven river mountain music guitar concert ticket travel hotel flight weather ' +
  'monday tuesday friday morning evening week month year please thanks regards hello dear friend'
).split(' ');
function prose(seed: number, words: number): string[] {
  const r = prng(seed);
  return Array.from({ length: words }, () => at(VOCAB, Math.floor(r() * VOCAB.length)));
}
function trueJaccard(a: string, b: string): number {
  const sa = new Set(shingleHashes(a));
  const sb = new Set(shingleHashes(b));
  let inter = 0;
  for (const x of sa) if (sb.has(x)) inter++;
  return inter / (sa.size + sb.size - inter);
}

describe('exactKey', () => {
  it('ignores case, punctuation, spacing and Unicode form, but not wording', () => {
    expect(exactKey('Hello,   World!')).toBe(exactKey('hello world'));
    expect(exactKey('Ｆｕｌｌ width')).toBe(exactKey('full width'));
    expect(exactKey('hello world')).not.toBe(exactKey('hello there world'));
    expect(exactKey('x')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('minhash', () => {
  it('signatures are deterministic and of the documented size', () => {
    const t = prose(1, 80).join(' ');
    const s = minhashSignature(t);
    expect(s).toBeInstanceOf(Uint32Array);
    expect(s.length).toBe(NUM_PERM);
    expect(Array.from(minhashSignature(t))).toEqual(Array.from(s));
  });

  it('estimateJaccard tracks the true shingle Jaccard', () => {
    const base = prose(7, 300);
    for (const changes of [0, 10, 30, 60, 120]) {
      const r = prng(100 + changes);
      const copy = [...base];
      for (let i = 0; i < changes; i++) copy[Math.floor(r() * copy.length)] = `changed${i}`;
      const a = base.join(' ');
      const b = copy.join(' ');
      const truth = trueJaccard(a, b);
      expect(Math.abs(estimateJaccard(minhashSignature(a), minhashSignature(b)) - truth)).toBeLessThan(0.12);
    }
  });

  it('detects near-copies (a few words changed) through LSH and confirms them', () => {
    const idx = new LshIndex();
    const originals = Array.from({ length: 200 }, (_, i) => prose(1000 + i, 60 + (i % 90)).join(' '));
    originals.forEach((t, i) => idx.add(`r${i}`, minhashSignature(t)));
    let caught = 0;
    for (let i = 0; i < originals.length; i++) {
      const words = at(originals, i).split(' ');
      const r = prng(5000 + i);
      for (let k = 0; k < 2; k++) words[Math.floor(r() * words.length)] = 'replaced';
      const sig = minhashSignature(`  ${words.join(' ').toUpperCase()}!! `); // plus case/punctuation noise
      const cands = idx.candidates(sig);
      if (
        cands.includes(`r${i}`) &&
        estimateJaccard(sig, minhashSignature(at(originals, i))) >= NEAR_DUPLICATE_JACCARD - 0.15
      )
        caught++;
    }
    expect(caught / originals.length).toBeGreaterThanOrEqual(0.97);
  });

  it('confirms >= 90% of near-copies with up to three edited words at the threshold, from b-bit sketches', () => {
    for (const edits of [2, 3]) {
      let caught = 0;
      for (let i = 0; i < 200; i++) {
        const words = prose(9000 + i, 40 + (i % 40));
        const r = prng(7000 + edits * 1000 + i);
        const copy = [...words];
        for (let k = 0; k < edits; k++) copy[Math.floor(r() * copy.length)] = `edit${k}`;
        const a = minhashSignature(words.join(' '));
        const b = minhashSignature(copy.join(' '));
        const idx = new LshIndex();
        idx.add('src', a);
        if (idx.candidates(b).includes('src') && sketchJaccard(sketchOf(a), sketchOf(b)) >= NEAR_DUPLICATE_JACCARD)
          caught++;
      }
      expect(caught / 200).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('does not flag unrelated texts', () => {
    const idx = new LshIndex();
    for (let i = 0; i < 300; i++) idx.add(`r${i}`, minhashSignature(prose(20_000 + i, 100).join(' ')));
    let falseCandidates = 0;
    let confirmed = 0;
    for (let i = 0; i < 300; i++) {
      const sig = minhashSignature(prose(40_000 + i, 100).join(' '));
      const c = idx.candidates(sig);
      falseCandidates += c.length;
      confirmed += c.filter(
        (id) =>
          estimateJaccard(sig, minhashSignature(prose(20_000 + Number(id.slice(1)), 100).join(' '))) >=
          NEAR_DUPLICATE_JACCARD,
      ).length;
    }
    expect(confirmed).toBe(0);
    expect(falseCandidates).toBeLessThan(5);
  });

  it('short texts fall back to character 5-grams and still match near-copies', () => {
    const a = 'Win a free iPhone now';
    const b = 'Win a free iPhone now!!';
    const c = 'Lunch at noon tomorrow?';
    expect(shingleHashes(a).length).toBe('win a free iphone now'.length - 4);
    expect(estimateJaccard(minhashSignature(a), minhashSignature(b))).toBe(1);
    expect(estimateJaccard(minhashSignature(a), minhashSignature('Win a free iPad now'))).toBeGreaterThan(0.4);
    expect(estimateJaccard(minhashSignature(a), minhashSignature(c))).toBeLessThan(0.2);
  });

  it('band keys: one per band, band-prefixed, equal signatures give equal keys, fit a bigint exactly', () => {
    const s = minhashSignature(prose(3, 50).join(' '));
    const keys = bandKeys(s);
    expect(keys).toHaveLength(BANDS);
    keys.forEach((k, b) => {
      expect(k).toMatch(/^[0-9a-f]{14}$/);
      expect(parseInt(k.slice(0, 2), 16)).toBe(b);
      expect(Number.isSafeInteger(parseInt(k, 16))).toBe(true);
    });
    expect(bandKeys(Uint32Array.from(s))).toEqual(keys);
    const t = Uint32Array.from(s);
    t[0] = at(t, 0) ^ 1; // changes band 0 only
    const k2 = bandKeys(t);
    expect(k2[0]).not.toBe(keys[0]);
    expect(k2.slice(1)).toEqual(keys.slice(1));
  });

  it('signatures round-trip through base64 and the index through JSON', () => {
    const s = minhashSignature(prose(9, 70).join(' '));
    const enc = encodeSignature(s);
    expect(enc.length).toBe(Math.ceil((NUM_PERM * 4) / 3) * 4);
    expect(Array.from(decodeSignature(enc))).toEqual(Array.from(s));
    expect(() => decodeSignature('AAAA')).toThrow(/bytes/);
    const idx = new LshIndex();
    idx.add('a', s);
    const copy = LshIndex.fromJSON(JSON.parse(JSON.stringify(idx)) as [string, string[]][]);
    expect(copy.candidates(s)).toEqual(['a']);
    expect(copy.bucketCount).toBe(BANDS);
  });
});
