import { describe, expect, it } from 'vitest';
import { chunk, parseJsonl } from './records.js';

describe('records', () => {
  it('parses JSON Lines, skipping blank lines and naming bad ones', () => {
    const r = parseJsonl('{"text":"a","label":"spam"}\n\n{"text":"b"}\r\n[1]\nnot json\n');
    expect(r.payloads).toEqual([{ text: 'a', label: 'spam' }, { text: 'b' }]);
    expect(r.errors).toHaveLength(2);
    expect(r.errors[0]).toBe('line 4: not a JSON object');
    expect(r.errors[1]).toMatch(/^line 5: /);
  });
  it('chunks into batches of at most the given size', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(
      chunk(
        Array.from({ length: 2500 }, (_, i) => i),
        1000,
      ).map((c) => c.length),
    ).toEqual([1000, 1000, 500]);
  });
});
