import type { Readable } from 'node:stream';

/**
 * The JSON-lines format of every line-oriented file Commons writes (dataset manifests, part files,
 * trainer shards and inputs, evaluation sets), defined once: one JSON value per line, each line
 * ended by "\n" alone.
 *
 * JSON.stringify escapes "\n", "\r" and every other control character below U+0020, but leaves
 * U+0085, U+2028 and U+2029 raw, and Node's readline, Python's str.splitlines and many other
 * splitters end a line at them: a contributed text holding one split its record in two. A line
 * written here holds none of them (each is escaped as \uXXXX, which parses back to the same
 * text), and a reader here splits on "\n" only, so files written before the escaping read too.
 */

/** Line breaks some reader honours that JSON.stringify leaves raw. */
const RAW_BREAKS = /[\u0085\u2028\u2029]/g;
const escapeBreak = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Escapes the raw line breaks of a JSON text (a no-op on a line already in this format). */
export function escapeLineBreaks(json: string): string {
  return json.replace(RAW_BREAKS, escapeBreak);
}

/** One JSON line, without its "\n". */
export function jsonLine(value: unknown): string {
  return escapeLineBreaks(JSON.stringify(value));
}

/** JSON lines of `values`, each ended by "\n". */
export function jsonLines(values: Iterable<unknown>): string {
  let out = '';
  for (const v of values) out += jsonLine(v) + '\n';
  return out;
}

/**
 * The lines of a body, split on "\n" only; a Buffer is split by bytes and decoded line by line (a
 * large manifest exceeds V8's maximum string length). A final empty line (after the last "\n") is
 * dropped; other empty lines are kept, so line numbers in errors match the file.
 */
export function splitLines(body: Buffer | string): string[] {
  const lines: string[] = [];
  if (typeof body === 'string') {
    lines.push(...body.split('\n'));
  } else {
    for (let start = 0; start <= body.length;) {
      let end = body.indexOf(0x0a, start);
      if (end < 0) end = body.length;
      lines.push(body.toString('utf8', start, end));
      start = end + 1;
    }
  }
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * The lines of a stream, split on "\n" only, with bounded memory (one line and one chunk). Bytes
 * are decoded per line, so a multi-byte character split across chunks decodes whole.
 */
export async function* readLines(input: Readable): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a)) {
      pending.push(buf.subarray(0, nl));
      yield Buffer.concat(pending).toString('utf8');
      pending = [];
      buf = buf.subarray(nl + 1);
    }
    if (buf.length) pending.push(buf);
  }
  if (pending.length) yield Buffer.concat(pending).toString('utf8');
}
