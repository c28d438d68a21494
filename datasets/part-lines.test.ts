import { describe, expect, it } from 'vitest';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { manifestLineOf, manifestOfPartLine, partLineOf, type PartRecord } from './part-lines.js';

const hash = (i: number) => i.toString(16).padStart(64, '0');

describe('part lines: the manifest line is cut from the part line, not re-serialised', () => {
  const tricky = [
    'text with ,"seq": 7, "bands": [1] inside, and a "quoted" word',
    'backslash at the end \\',
    'escaped quote and seq \\",\\"seq\\":1 ,"seq":',
    'unicode \u2028 line separator, emoji \u{1F600}, control \u0001 and a\nnewline',
    '',
  ];
  const records: PartRecord[] = [
    ...loadSpamAssassin({ limit: 500, seed: 3 }).map((r, i) => ({
      seq: i + 1,
      hash: hash(i),
      contributor: `0xabc${i}`,
      text: r.text,
      label: r.label,
      bands: [i, 2 ** 52 + i, 0x1f * 2 ** 48 + 5],
      sketch: Buffer.alloc(120, i).toString('base64'),
    })),
    ...tricky.map((t, i) => ({
      seq: 1000 + i,
      hash: hash(1000 + i),
      contributor: 'c,"seq":',
      text: t,
      label: t.slice(0, 5),
      ...(i % 2 ? { response: `${t} ,"seq": reply` } : {}),
      bands: [1, 2, 3],
      sketch: i % 3 ? 'AAEC' : '',
    })),
  ];

  it('gives JSON.stringify of the manifest fields, and the hash, for every record', () => {
    for (const p of records) {
      const line = partLineOf(p);
      expect(JSON.parse(line)).toEqual(p); // the dedupe pass still reads the whole record
      expect(manifestOfPartLine(line)).toEqual({ hash: p.hash, line: manifestLineOf(p) });
    }
  });

  it('refuses a line in any other layout', () => {
    expect(() => manifestOfPartLine('{"seq":1,"hash":"ab"}')).toThrow(/not a part line/);
  });
});
