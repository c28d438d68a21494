import { describe, expect, it } from 'vitest';
import { unusableNumberAt } from './validation.js';

describe('request numbers', () => {
  it('finds NaN, Infinity and -0 at any depth, with where they are', () => {
    expect(unusableNumberAt({ a: 1, b: [0, 2.5, { c: -1 }] })).toBeUndefined();
    expect(unusableNumberAt({ a: { b: [1, Infinity] } })).toBe('/a/b/1');
    expect(unusableNumberAt({ x: -0 })).toBe('/x');
    expect(unusableNumberAt(NaN)).toBe('/');
    expect(unusableNumberAt(JSON.parse('{"topK":1e309}'))).toBe('/topK');
  });
});
