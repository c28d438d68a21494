import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, pageOf } from './pagination.js';
import { HttpError } from './errors.js';

describe('cursor pagination', () => {
  it('round-trips a sort key through an opaque cursor', () => {
    const key = ['2026-01-01 00:00:00.123456+00', 'p-1', 0.25, 7] as const;
    const c = encodeCursor(key);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(c, ['string', 'string', 'number', 'number'])).toEqual(key);
    expect(decodeCursor(undefined, ['number'])).toBeUndefined();
  });
  it('refuses a cursor that is not a key of the list with 400', () => {
    for (const bad of [
      'bm90LWEta2V5', // "not-a-key"
      encodeCursor([1, 2]),
      encodeCursor(['1']),
      Buffer.from('[1e999]').toString('base64url'),
      Buffer.from('{"a":1}').toString('base64url'),
    ]) {
      const err = (() => {
        try {
          decodeCursor(bad, ['number']);
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad).toBeInstanceOf(HttpError);
      expect((err as HttpError).statusCode).toBe(400);
    }
  });
  it('serves limit rows and a cursor only when the extra row says there is more', () => {
    const rows = [1, 2, 3, 4];
    expect(pageOf(rows, 3, (r) => [r])).toEqual({ items: [1, 2, 3], nextCursor: encodeCursor([3]) });
    expect(pageOf(rows.slice(0, 3), 3, (r) => [r])).toEqual({ items: [1, 2, 3], nextCursor: null });
    expect(pageOf([], 3, (r: number) => [r])).toEqual({ items: [], nextCursor: null });
  });
});
