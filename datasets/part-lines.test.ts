import { describe, expect, it } from 'vitest';
import { loadSpamAssassin } from '../ml/embedded/corpus.js';
import { randomBytes } from 'node:crypto';
import { asSealedLine, openFields, sealFields } from '../domain/data/sealed-lines.js';
import { REFUSED, manifestLineOf, manifestOfPartLine, partLineOf, type PartRecord } from './part-lines.js';

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

describe('part lines of an encrypted Datanet', () => {
  it('cut to the sealed manifest line, which opens with the record key to the record fields', () => {
    const key = randomBytes(32);
    const sealed = sealFields(
      key,
      { hash: hash(7), contributor: '0xabc', datanet: 'dn' },
      { text: 'a ,"seq": 1 secret', label: 'spam' },
    );
    const p: PartRecord = { ...sealed, seq: 7, bands: [1, 2], sketch: 'AAEC' };
    const line = partLineOf(p);
    expect(line).not.toContain('secret');
    const cut = manifestOfPartLine(line);
    expect(cut).toEqual({ hash: hash(7), line: manifestLineOf(p) });
    expect(openFields(key, asSealedLine(JSON.parse(cut.line))!)).toEqual({ text: 'a ,"seq": 1 secret', label: 'spam' });
    const refused = partLineOf({ ...sealed, seq: 8, ...REFUSED });
    expect(JSON.parse(refused)).toMatchObject({ refused: true, bands: [] });
    expect(manifestOfPartLine(refused).line).toBe(cut.line);
  });
});
