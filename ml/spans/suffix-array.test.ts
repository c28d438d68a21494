import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../domain/prng.js';
import { suffixArray } from './suffix-array.js';

function bySorting(s: Int32Array): number[] {
  const n = s.length;
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    for (let k = 0; a + k < n && b + k < n; k++) if (s[a + k] !== s[b + k]) return s[a + k]! - s[b + k]!;
    return b - a; // the shorter suffix (later start) is a prefix of the longer: it sorts first
  });
}

describe('suffixArray (SA-IS)', () => {
  it('sorts the suffixes of small and repetitive texts', () => {
    for (const text of [
      [],
      [3],
      [2, 1],
      [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
      [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 0],
    ]) {
      const s = Int32Array.from(text);
      expect([...suffixArray(s, 3)]).toEqual(bySorting(s));
    }
  });

  it('agrees with comparison sorting on random texts over small and large alphabets', () => {
    const rand = mulberry32(7);
    for (let t = 0; t < 200; t++) {
      const n = Math.floor(rand() * 300);
      const upper = t % 2 ? 2 : 50;
      const s = Int32Array.from({ length: n }, () => Math.floor(rand() * (upper + 1)));
      expect([...suffixArray(s, upper)]).toEqual(bySorting(s));
    }
  });
});
