import { describe, expect, it } from 'vitest';
import { SPAM_SPEC } from '../../scenarios/scenario.js';
import { validateRecord } from '../../domain/data/datanet-spec.js';

/**
 * The console's file reader and batcher (plain browser modules, no types): loaded by URL so the
 * TypeScript build, which has no DOM and no JS, does not read them; typed here by what they export.
 */
interface Row {
  line: number;
  payload?: Record<string, unknown>;
  errors?: string[];
}
const recordsFile = (await import(new URL('./public/records-file.js', import.meta.url).href)) as {
  parseCsv(text: string): string[][];
  readRecords(name: string, text: string, spec: unknown): Row[];
  checkRecord(spec: unknown, payload: Record<string, unknown>): string[];
};
const upload = (await import(new URL('./public/upload.js', import.meta.url).href)) as {
  batchesOf(records: Row[], maxRecords?: number): Row[][];
  sendInBatches(
    records: Row[],
    opts: {
      post(body: { records: unknown[] }): Promise<{ ok: boolean; status: number; json: unknown }>;
      reasonOf(res: unknown): string;
      signal: { cancelled: boolean };
      onProgress(c: unknown): void;
      onRefused(r: unknown): void;
      toRecord?(payload: unknown): Promise<unknown>;
    },
  ): Promise<{ stopped?: string }>;
};

const SPEC = {
  ...SPAM_SPEC,
  fields: [...SPAM_SPEC.fields, { name: 'score', type: 'integer', min: 0, max: 10 }, { name: 'ok', type: 'boolean' }],
};

describe('console records file', () => {
  it('parses RFC 4180 CSV: quotes, doubled quotes, commas and line breaks in cells, CRLF, a BOM, blank lines', () => {
    expect(recordsFile.parseCsv('\ufeffa,b\r\n"x, ""y""\nz",2\r\n\r\nlast,\n')).toEqual([
      ['a', 'b'],
      ['x, "y"\nz', '2'],
      ['last', ''],
    ]);
    expect(() => recordsFile.parseCsv('a\n"open')).toThrow('inside a quoted field');
  });

  it('maps CSV columns by the header to the spec fields and their types, and names a bad row', () => {
    const rows = recordsFile.readRecords('f.csv', 'score,label,text,ok\n3,spam,hello,true\n,ham,hi,0\n1,spam\n', SPEC);
    expect(rows).toEqual([
      { line: 1, payload: { score: 3, label: 'spam', text: 'hello', ok: true } },
      { line: 2, payload: { label: 'ham', text: 'hi', ok: false } },
      { line: 3, errors: ['has 2 cells, the header has 4'] },
    ]);
    expect(() => recordsFile.readRecords('f.csv', 'text,colour\nx,red\n', SPEC)).toThrow(
      'columns the Datanet does not have: colour',
    );
    expect(() => recordsFile.readRecords('f.txt', 'x', SPEC)).toThrow('pick a .csv or .jsonl file');
  });

  it('reads JSONL by line, skipping blank lines and naming lines that are not JSON objects', () => {
    expect(recordsFile.readRecords('f.jsonl', '{"text":"a","label":"ham"}\n\n[1]\n{oops\n', SPEC)).toEqual([
      { line: 1, payload: { text: 'a', label: 'ham' } },
      { line: 3, errors: ['is not a JSON object'] },
      { line: 4, errors: [expect.stringContaining('is not JSON')] },
    ]);
  });

  it('refuses what the API refuses, and passes what it accepts', () => {
    const cases: Record<string, unknown>[] = [
      { text: 'fine', label: 'ham' },
      { text: 'fine', label: 'ham', score: 10, ok: false },
      { label: 'spam' },
      { text: '   ', label: 'spam' },
      { text: 'x', label: 'eggs' },
      { text: 'x', label: 'ham', colour: 'red' },
      { text: 'x', label: 'ham', score: 2.5 },
      { text: 'x', label: 'ham', score: 11 },
      { text: 'x', label: 'ham', ok: 'yes' },
      { text: 'x'.repeat(20_001), label: 'ham' },
      { text: 'x'.repeat(19_999), label: 'ham', score: 1 },
    ];
    for (const c of cases)
      expect(recordsFile.checkRecord(SPEC, c).length === 0, JSON.stringify(c).slice(0, 80)).toBe(
        validateRecord(SPEC as never, c).ok,
      );
  });

  it('batches within the record count and keeps every record once, in order', () => {
    const rows = Array.from({ length: 250 }, (_, i) => ({ line: i + 1, payload: { text: `r${i}` } }));
    const batches = upload.batchesOf(rows);
    expect(batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(batches.flat()).toEqual(rows);
    expect(upload.batchesOf(rows, 1000).map((b) => b.length)).toEqual([250]);
  });

  it('sends each record as toRecord makes it (an encrypted Datanet: sealed), sealing it once across a retry', async () => {
    const rows = Array.from({ length: 3 }, (_, i) => ({ line: i + 1, payload: { text: `r${i}` } }));
    const bodies: { records: unknown[] }[] = [];
    let sealed = 0;
    const out = await upload.sendInBatches(rows, {
      post: (body) => {
        bodies.push(body);
        // The first try is over the rate: retried after the time the API names.
        return Promise.resolve(
          bodies.length === 1
            ? { ok: false, status: 429, json: { details: { retryAfterSeconds: 0 } } }
            : {
                ok: true,
                status: 200,
                json: { results: body.records.map((_, index) => ({ index, status: 'stored' })) },
              },
        );
      },
      reasonOf: () => '',
      signal: { cancelled: false },
      onProgress: () => undefined,
      onRefused: () => undefined,
      toRecord: (payload) => Promise.resolve({ envelope: { sealed: ++sealed, of: payload } }),
    });
    expect(out).toEqual({});
    expect(sealed).toBe(3);
    expect(bodies).toHaveLength(2);
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[1]!.records).toEqual(rows.map((r, i) => ({ envelope: { sealed: i + 1, of: r.payload } })));
  });
});
