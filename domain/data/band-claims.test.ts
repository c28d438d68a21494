import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../prng.js';
import { parseBigintArray, reduceBandClaims } from './band-claims.js';

describe('band-claim reduction', () => {
  it('parses bigint[] literals exactly up to 2^53', () => {
    expect(Array.from(parseBigintArray('{}'))).toEqual([]);
    expect(Array.from(parseBigintArray('{7}'))).toEqual([7]);
    const xs = [0, 1, 2 ** 48 + 12345, 30 * 2 ** 48 + 2 ** 47 + 99, 2 ** 53 - 1];
    expect(Array.from(parseBigintArray(`{${xs.join(',')}}`))).toEqual(xs);
    expect(() => parseBigintArray('{1,-2}')).toThrow(/bigint/);
  });

  it('gives the owners a Map over every claim gives, on batches sharing many bands', () => {
    const r = mulberry32(7);
    // 40 batches of 500 claims drawn from 3,000 bands in 30 band indices: most bands are shared.
    const batches = Array.from({ length: 40 }, (_, b) => {
      const chosen = new Map<number, number>();
      while (chosen.size < 500) {
        const band = Math.floor(r() * 30) * 2 ** 48 + Math.floor(r() * 100) * 2 ** 16 + Math.floor(r() * 3);
        if (!chosen.has(band)) chosen.set(band, b * 1000 + 1 + Math.floor(r() * 1000));
      }
      return { bands: Float64Array.from(chosen.keys()), seqs: Float64Array.from(chosen.values()) };
    });
    const lowest = new Map<number, number>();
    const count = new Map<number, number>();
    for (const b of batches)
      b.bands.forEach((band, i) => {
        lowest.set(band, Math.min(lowest.get(band) ?? Infinity, b.seqs[i]!));
        count.set(band, (count.get(band) ?? 0) + 1);
      });
    const expected = batches.map((b) => {
      const bands: number[] = [];
      const owners: number[] = [];
      b.bands.forEach((band, i) => {
        if (count.get(band)! > 1 && lowest.get(band)! < b.seqs[i]!) {
          bands.push(band);
          owners.push(lowest.get(band)!);
        }
      });
      return { bands, owners };
    });
    const got = reduceBandClaims(batches);
    expect(got.shared).toBe([...count.values()].filter((c) => c > 1).length);
    expect(got.shared).toBeGreaterThan(1000);
    expect(got.owners).toEqual(expected);
  });
});
