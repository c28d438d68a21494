/**
 * The span index of a generation model's training text (OLMoTrace / infini-gram style): every
 * record's texts as hashed word tokens (tokens.ts), each text followed by a separator, and a
 * suffix array over that sequence (SA-IS), so any token sequence is found, with its number of
 * occurrences, by binary search. A record-boundary table maps a token offset to its record, and
 * the record to its hash and contributor.
 *
 * Stored as five objects (span-store.ts writes, checks and promotes them):
 * - header.json: format, tokenizer, counts, byte widths, contributors, each file's SHA-256;
 * - vocab.bin: the distinct token ids, sorted (u32 LE); a token is stored as its rank + 1 (0 is the separator);
 * - tokens.bin: the ranks, packed in `tokenBytes` bytes each (packed.ts);
 * - sa.bin: the suffix array, packed in `saBytes` bytes each;
 * - records.bin: per record its first token offset (u32 LE), then per record its contributor
 *   ordinal (u32 LE), then per record its hash (32 bytes).
 * With 3-byte ranks and a 3-byte suffix array (up to 16M tokens and 16M distinct words) the index
 * takes 6 bytes a token plus 40 bytes a record.
 */
import { createHash } from 'node:crypto';
import { byteWidth, packUints, packedReader } from './packed.js';
import { suffixArray } from './suffix-array.js';
import { SEPARATOR, SPAN_TOKENIZER, spanTokenIds } from './tokens.js';

export const SPAN_INDEX_FORMAT = 'commons-spans/1';

/** What a record is known by. */
export interface SpanSource {
  hash: string;
  contributor: string;
}

export const SPAN_FILES = ['vocab', 'tokens', 'sa', 'records'] as const;
export type SpanFile = (typeof SPAN_FILES)[number];

export interface SpanIndexHeader {
  format: string;
  tokenizer: string;
  /** Length of the token sequence, separators included. */
  tokens: number;
  /** Tokens that are words (what rarity is measured against). */
  words: number;
  vocabulary: number;
  records: number;
  tokenBytes: number;
  saBytes: number;
  contributors: string[];
  files: Record<SpanFile, { bytes: number; sha256: string }>;
}

export interface SpanIndexFiles {
  header: SpanIndexHeader;
  data: Record<SpanFile, Buffer>;
}

const HASH_RE = /^[0-9a-f]{64}$/;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Collects records' texts, then builds the index in memory (about 20 bytes a token at the peak). */
export class SpanIndexBuilder {
  private ids = new Uint32Array(1 << 16);
  private length = 0;
  private readonly starts: number[] = [];
  private readonly contributorOf: number[] = [];
  private readonly hashes: string[] = [];
  private readonly contributors = new Map<string, number>();

  /** Adds one record: its texts (e.g. prompt and response), each closed by a separator. */
  add(source: SpanSource, texts: readonly string[]): void {
    if (!HASH_RE.test(source.hash)) throw new Error(`record hash ${source.hash} is not a hex SHA-256`);
    let c = this.contributors.get(source.contributor);
    if (c === undefined) this.contributors.set(source.contributor, (c = this.contributors.size));
    this.starts.push(this.length);
    this.contributorOf.push(c);
    this.hashes.push(source.hash);
    for (const text of texts) {
      const ids = spanTokenIds(text);
      this.reserve(ids.length + 1);
      this.ids.set(ids, this.length);
      this.length += ids.length;
      this.ids[this.length++] = SEPARATOR;
    }
  }

  private reserve(more: number): void {
    if (this.length + more <= this.ids.length) return;
    const grown = new Uint32Array(Math.max(this.ids.length * 2, this.length + more));
    grown.set(this.ids.subarray(0, this.length));
    this.ids = grown;
  }

  build(): SpanIndexFiles {
    const n = this.length;
    if (n >= 2 ** 32) throw new RangeError('a span index holds fewer than 2^32 tokens');
    const ids = this.ids.subarray(0, n);
    // The vocabulary: distinct word ids, sorted; a token is stored as its rank + 1.
    const sorted = ids.slice().sort();
    let v = 0;
    for (let i = 0; i < n; i++)
      if (sorted[i] !== SEPARATOR && (v === 0 || sorted[i] !== sorted[v - 1])) sorted[v++] = sorted[i]!;
    const vocab = sorted.slice(0, v);
    const ranks = new Int32Array(n);
    let words = 0;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      if (id === SEPARATOR) continue;
      ranks[i] = rankOf(vocab, id) + 1;
      words++;
    }
    const sa = suffixArray(ranks, v);
    const tokenBytes = byteWidth(v);
    const saBytes = byteWidth(Math.max(0, n - 1));
    const m = this.starts.length;
    const records = Buffer.alloc(m * 40);
    for (let r = 0; r < m; r++) {
      records.writeUInt32LE(this.starts[r]!, 4 * r);
      records.writeUInt32LE(this.contributorOf[r]!, 4 * (m + r));
      records.write(this.hashes[r]!, 8 * m + 32 * r, 'hex');
    }
    const data: Record<SpanFile, Buffer> = {
      vocab: Buffer.from(vocab.buffer, vocab.byteOffset, vocab.byteLength),
      tokens: packUints(ranks, tokenBytes),
      sa: packUints(sa, saBytes),
      records,
    };
    const files = Object.fromEntries(
      SPAN_FILES.map((f) => [f, { bytes: data[f].length, sha256: sha256(data[f]) }]),
    ) as SpanIndexHeader['files'];
    const header: SpanIndexHeader = {
      format: SPAN_INDEX_FORMAT,
      tokenizer: SPAN_TOKENIZER,
      tokens: n,
      words,
      vocabulary: v,
      records: m,
      tokenBytes,
      saBytes,
      contributors: [...this.contributors.keys()],
      files,
    };
    return { header, data };
  }
}

/** Index of `id` in the sorted `vocab`, or -1. */
export function rankOf(vocab: Uint32Array, id: number): number {
  let lo = 0;
  let hi = vocab.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (vocab[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < vocab.length && vocab[lo] === id ? lo : -1;
}

/** A little-endian u32 view of `b` (copied when `b` is not 4-byte aligned). */
function u32(b: Buffer): Uint32Array {
  const aligned = b.byteOffset % 4 === 0 ? b : Buffer.from(b);
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
}

/** A built or loaded span index, ready to search (span-match.ts finds and weighs spans with it). */
export class SpanIndex {
  readonly vocab: Uint32Array;
  /** Rank + 1 of the token at offset i (0: a separator). */
  readonly token: (i: number) => number;
  /** Offset of the i-th suffix in sorted order. */
  readonly suffix: (i: number) => number;
  private readonly starts: Uint32Array;
  private readonly contributorOf: Uint32Array;
  private readonly hashes: Buffer;

  constructor(
    readonly header: SpanIndexHeader,
    data: Record<SpanFile, Buffer>,
  ) {
    if (header.format !== SPAN_INDEX_FORMAT) throw new Error(`not a ${SPAN_INDEX_FORMAT} index`);
    if (header.tokenizer !== SPAN_TOKENIZER)
      throw new Error(`span index tokenizer ${header.tokenizer} is not this server's ${SPAN_TOKENIZER}`);
    for (const f of SPAN_FILES)
      if (data[f].length !== header.files[f].bytes) throw new Error(`span index ${f}.bin has the wrong size`);
    this.vocab = u32(data.vocab);
    this.token = packedReader(data.tokens, header.tokenBytes);
    this.suffix = packedReader(data.sa, header.saBytes);
    const m = header.records;
    const table = u32(data.records.subarray(0, 8 * m));
    this.starts = table.subarray(0, m);
    this.contributorOf = table.subarray(m, 2 * m);
    this.hashes = data.records.subarray(8 * m);
  }

  static fromFiles(files: SpanIndexFiles): SpanIndex {
    return new SpanIndex(files.header, files.data);
  }

  get size(): number {
    return this.header.tokens;
  }

  /** Bytes of the stored index (all files and the header). */
  get bytes(): number {
    return SPAN_FILES.reduce((s, f) => s + this.header.files[f].bytes, 0) + JSON.stringify(this.header).length;
  }

  /** The record holding token offset `at`. */
  recordAt(at: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! <= at) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  source(record: number): SpanSource {
    const c = this.contributorOf[record];
    if (c === undefined) throw new RangeError(`no record ${record}`);
    return {
      hash: this.hashes.toString('hex', 32 * record, 32 * record + 32),
      contributor: this.header.contributors[c]!,
    };
  }

  /** The query's tokens as stored ranks + 1 (0 where a word is not in the training text). */
  ranks(text: string): Int32Array {
    const ids = spanTokenIds(text);
    const out = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = rankOf(this.vocab, ids[i]!) + 1;
    return out;
  }
}
