import { describe, expect, it } from 'vitest';
import { featureOptions, featurize, fnv1a, sparseDot, tokenize, type FeatureOptions } from './features.js';
import { fmix32 } from '../../domain/hash32.js';

/** xs[i] for an index the test knows is in range; fails the test naming the index otherwise. */
function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i} (length ${xs.length})`);
  return x;
}

describe('features', () => {
  it('FNV-1a matches the reference vectors', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('tokenises lowercase words', () => {
    expect(tokenize("Hello, WORLD! It's 2024 — café")).toEqual(['hello', 'world', "it's", '2024', 'café']);
  });

  it('is deterministic, sorted, unique and L2-normalised', () => {
    const text = 'The quick brown fox jumps over the lazy dog. The dog sleeps.';
    const a = featurize(text);
    const b = featurize(text);
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
    expect(Array.from(a.values)).toEqual(Array.from(b.values));
    expect(a.indices.length).toBeGreaterThan(50);
    for (let i = 1; i < a.indices.length; i++) expect(at(a.indices, i)).toBeGreaterThan(at(a.indices, i - 1));
    for (const id of a.indices) expect(id).toBeLessThan(1 << 18);
    expect(sparseDot(a, a)).toBeCloseTo(1, 5);
    expect(Array.from(a.values).some((v) => v < 0)).toBe(true); // signed hashing is on by default
  });

  it('is case-insensitive and similar texts are closer than unrelated ones', () => {
    const a = featurize('Win a FREE prize now');
    expect(Array.from(featurize('win a free prize now').values)).toEqual(Array.from(a.values));
    const near = featurize('win a free prize today');
    const far = featurize('meeting notes for the kernel patch review');
    expect(sparseDot(a, near)).toBeGreaterThan(0.5);
    expect(Math.abs(sparseDot(a, far))).toBeLessThan(0.2);
  });

  it('honours options and handles empty text', () => {
    const small = featurize(
      'hello world',
      featureOptions({ dim: 64, charNgrams: [0, 0], wordBigrams: false, signed: false }),
    );
    expect(small.indices.length).toBeLessThanOrEqual(2);
    for (const v of small.values) expect(v).toBeGreaterThan(0);
    for (const id of small.indices) expect(id).toBeLessThan(64);
    const e = featurize('  ,,, ');
    expect(e.indices.length).toBe(0);
    expect(e.values.length).toBe(0);
  });

  it('featurises 2000-char texts quickly', () => {
    const text = 'lorem ipsum dolor sit amet consectetur adipiscing elit '.repeat(36).slice(0, 2000);
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) featurize(text + i);
    const perDoc = (performance.now() - t0) / 200;
    expect(perDoc).toBeLessThan(5);
  });
});

/**
 * The features as first defined (a dense accumulator of `dim` counts): models trained on them are
 * served by the faster `featurizeTokens`, so both must give the same bits.
 */
function referenceFeatures(text: string, o: FeatureOptions): { indices: number[]; values: number[] } {
  const acc = new Map<number, number>();
  const add = (hash: number) => {
    const h = fmix32(hash);
    const id = (o.dim & (o.dim - 1)) === 0 ? h & (o.dim - 1) : h % o.dim;
    acc.set(id, (acc.get(id) ?? 0) + (o.signed && h & 0x80000000 ? -1 : 1));
  };
  let prevHash = 0;
  for (const [t, w] of tokenize(text).entries()) {
    add(fnv1a(w, fnv1a('w:')));
    if (o.wordBigrams) {
      if (t > 0) add(fnv1a(w, Math.imul(prevHash ^ 0x20, 0x01000193) >>> 0));
      prevHash = fnv1a(w, fnv1a('b:'));
    }
    const [lo, hi] = o.charNgrams;
    const padded = `<${w}>`;
    for (let i = 0; hi > 0 && i < padded.length; i++)
      for (let n = Math.max(lo, 1); n <= hi && i + n <= padded.length; n++)
        add(fnv1a(padded.slice(i, i + n), fnv1a('c:')));
  }
  const ids = [...acc.keys()].filter((id) => acc.get(id) !== 0).sort((a, b) => a - b);
  const norm = Math.sqrt(ids.reduce((s, id) => s + acc.get(id)! ** 2, 0));
  return { indices: ids, values: ids.map((id) => Math.fround(acc.get(id)! * (1 / norm))) };
}

describe('featurize gives the features models were trained on', () => {
  const texts = [
    'The quick brown fox jumps over the lazy dog. The dog sleeps.',
    'WIN a FREE prize now!!! click http://example.com/x?y=1 — café naïve 日本語 テキスト',
    'a a a a a a a a b b b',
    '',
    'x',
    "it's what's here, don’t stop",
    'lorem ipsum dolor sit amet consectetur adipiscing elit '.repeat(40),
  ];
  const options: FeatureOptions[] = [
    featureOptions(),
    featureOptions({ dim: 1000, charNgrams: [2, 4] }),
    featureOptions({ dim: 64, charNgrams: [0, 0], wordBigrams: false, signed: false }),
    featureOptions({ dim: 2 ** 31, charNgrams: [1, 6], signed: true }),
  ];
  it.each(options.map((o) => [o.dim, o.charNgrams.join('..'), o]))('dim %i, char n-grams %s', (_d, _c, o) => {
    for (const text of texts) {
      const got = featurize(text, o);
      const want = referenceFeatures(text, o);
      expect(Array.from(got.indices)).toEqual(want.indices);
      expect(Array.from(got.values)).toEqual(want.values);
    }
  });
});
