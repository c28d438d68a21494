import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { splitlines } from '../test/support/hostile-records.js';
import { escapeLineBreaks, jsonLine, jsonLines, readLines, splitLines } from './jsonl.js';

// Every code point some reader ends a line at: Node's readline, Python's str.splitlines and
// universal-newline files, Unicode's mandatory breaks.
const BREAKS = ['\n', '\r', '\r\n', '\u000b', '\u000c', '\u001c', '\u001d', '\u001e', '\u0085', '\u2028', '\u2029'];
const values = [
  ...BREAKS.map((b) => ({ text: `before${b}after`, label: b })),
  { text: '\ufeff{"hash":"x","text":"y"}\n{"hash":"z"}', label: '\u202e\u2066' },
  { text: 'family \u{1F468}\u200d\u{1F469}\u200d\u{1F467}, lone \ud800 surrogate, NUL \u0000', label: '' },
];

describe('JSON lines: one value per line whatever its text holds', () => {
  it('writes no character any splitter takes for a line end, and reads every value back', () => {
    const body = jsonLines(values);
    // Python's str.splitlines is the widest splitter there is: it must find exactly one line per value.
    expect(splitlines(body)).toHaveLength(values.length);
    expect(splitLines(body).map((l) => JSON.parse(l) as unknown)).toEqual(values);
    expect(splitLines(Buffer.from(body)).map((l) => JSON.parse(l) as unknown)).toEqual(values);
  });

  it('escaping is idempotent, so a line already in the format is left as it is', () => {
    for (const v of values) expect(escapeLineBreaks(jsonLine(v))).toBe(jsonLine(v));
    expect(jsonLine({ t: 'a\u2028b' })).toBe('{"t":"a\\u2028b"}');
  });

  it('reads lines written before the escaping (raw U+2028 in a line) as one line each', async () => {
    const old = values.map((v) => JSON.stringify(v)).join('\n') + '\n';
    expect(splitLines(old)).toHaveLength(values.length);
    // Streamed in 7-byte chunks: multi-byte characters are cut across chunks.
    const bytes = Buffer.from(old);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
    const read: unknown[] = [];
    for await (const l of readLines(Readable.from(chunks))) read.push(JSON.parse(l));
    expect(read).toEqual(values);
  });

  it('keeps inner empty lines (for line numbers) and drops only the final one', async () => {
    expect(splitLines('a\n\nb\n')).toEqual(['a', '', 'b']);
    expect(splitLines(Buffer.from('a\n\nb'))).toEqual(['a', '', 'b']);
    expect(splitLines('')).toEqual([]);
    const read: string[] = [];
    for await (const l of readLines(Readable.from([Buffer.from('a\n\nb\n')]))) read.push(l);
    expect(read).toEqual(['a', '', 'b']);
  });
});
