import { createHash } from 'node:crypto';
import type { ArtifactStore } from './artifact-store.js';
import { mapLimit } from './map-limit.js';

/**
 * Pack objects: the records of one ingest request written as one S3 object (JSON lines, each line a
 * record's exact stored bytes), so ingest costs one PUT per request and scoring one ranged GET per
 * pack and batch instead of one request per record. Records stay content-addressed: Postgres keeps
 * each record's (pack key, offset, length), and every read checks the bytes against the record's
 * SHA-256, so a pack or an index row that does not match its hash is never served or scored.
 *
 * A record's bytes are hashed as they are, so unlike the other JSON-lines files (storage/jsonl.ts)
 * a pack's lines keep U+0085, U+2028 and U+2029 raw: read a pack by its entries' offsets, or split
 * it with splitLines (on "\n" only), never with readline or a Unicode-aware line splitter.
 */

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface PackEntry {
  hash: string;
  offset: number;
  length: number;
}

export interface Pack {
  /** SHA-256 of the pack's bytes: its object name, so writing the same pack twice is idempotent. */
  hash: string;
  bytes: Buffer;
  entries: PackEntry[];
}

export class PackIntegrityError extends Error {}

/**
 * Lays records out one per line. Each record's claimed hash must be the SHA-256 of its bytes, and
 * its bytes must hold no newline (canonical JSON never does): a pack is refused otherwise.
 */
export function buildPack(records: readonly { hash: string; bytes: Buffer }[]): Pack {
  const parts: Buffer[] = [];
  const entries: PackEntry[] = [];
  let offset = 0;
  for (const r of records) {
    if (sha256(r.bytes) !== r.hash)
      throw new PackIntegrityError(`record claimed as ${r.hash} hashes to ${sha256(r.bytes)}: pack refused`);
    if (r.bytes.includes(0x0a)) throw new PackIntegrityError(`record ${r.hash} holds a newline: pack refused`);
    entries.push({ hash: r.hash, offset, length: r.bytes.length });
    parts.push(r.bytes, NEWLINE);
    offset += r.bytes.length + 1;
  }
  const bytes = Buffer.concat(parts);
  return { hash: sha256(bytes), bytes, entries };
}
const NEWLINE = Buffer.from('\n');

/**
 * The pack of an encrypted Datanet's records: each line a record's ciphertext (its envelope's
 * AES-256-GCM bytes) in base64, so the pack stays lines and holds no plaintext. The bytes cannot be
 * checked against the record's hash here (that is of the plaintext); the GCM tag, bound to the
 * Datanet and the hash, checks them when a worker opens the record.
 */
export function buildCipherPack(records: readonly { hash: string; ciphertext: Buffer }[]): Pack {
  return linesPack(records.map((r) => ({ hash: r.hash, line: Buffer.from(r.ciphertext.toString('base64')) })));
}

function linesPack(lines: readonly { hash: string; line: Buffer }[]): Pack {
  const parts: Buffer[] = [];
  const entries: PackEntry[] = [];
  let offset = 0;
  for (const l of lines) {
    entries.push({ hash: l.hash, offset, length: l.line.length });
    parts.push(l.line, NEWLINE);
    offset += l.line.length + 1;
  }
  const bytes = Buffer.concat(parts);
  return { hash: sha256(bytes), bytes, entries };
}

/** Where a record's bytes are: a slice of a pack. */
export interface RecordRef {
  hash: string;
  key: string;
  offset: number;
  length: number;
}

/** A contributions row's storage columns as a RecordRef (pack_offset is a bigint, so text from Postgres). */
export function recordRefOf(r: { hash: string; s3_key: string; pack_offset: string; pack_length: number }): RecordRef {
  return { hash: r.hash, key: r.s3_key, offset: Number(r.pack_offset), length: r.pack_length };
}

export type RecordRead = { ok: true; bytes: Buffer } | { ok: false; reason: string };

/**
 * Reads records by reference: one ranged GET per pack covering every record wanted from it. Each
 * result is checked against its hash. Results are keyed by hash.
 */
export async function readRecords(
  store: ArtifactStore,
  refs: readonly RecordRef[],
  concurrency = 16,
): Promise<Map<string, RecordRead>> {
  const out = new Map<string, RecordRead>();
  await readSlices(store, refs, concurrency, (ref, bytes) =>
    out.set(
      ref.hash,
      sha256(bytes) === ref.hash
        ? { ok: true, bytes }
        : { ok: false, reason: 'stored bytes do not match the record content hash' },
    ),
  );
  return out;
}

/**
 * Reads records of an encrypted Datanet's packs (buildCipherPack) as ciphertext, keyed by hash. Only
 * the form is checked here; opening them (infra/private-records) checks the tag and the hash.
 */
export async function readCiphertexts(
  store: ArtifactStore,
  refs: readonly RecordRef[],
  concurrency = 16,
): Promise<Map<string, RecordRead>> {
  const out = new Map<string, RecordRead>();
  await readSlices(store, refs, concurrency, (ref, line) => {
    const text = line.toString('latin1');
    out.set(
      ref.hash,
      line.length === ref.length && BASE64_LINE.test(text)
        ? { ok: true, bytes: Buffer.from(text, 'base64') }
        : { ok: false, reason: 'stored ciphertext is truncated or not base64' },
    );
  });
  return out;
}
const BASE64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;

/** One ranged GET per pack covering every slice wanted from it. */
async function readSlices(
  store: ArtifactStore,
  refs: readonly RecordRef[],
  concurrency: number,
  check: (ref: RecordRef, bytes: Buffer) => void,
): Promise<void> {
  const byPack = new Map<string, RecordRef[]>();
  for (const r of refs) {
    const list = byPack.get(r.key);
    if (list) list.push(r);
    else byPack.set(r.key, [r]);
  }
  await mapLimit([...byPack.entries()], concurrency, async ([key, list]) => {
    const start = Math.min(...list.map((r) => r.offset));
    const end = Math.max(...list.map((r) => r.offset + r.length)) - 1;
    const span = end >= start ? await store.getRange(key, start, end) : Buffer.alloc(0);
    for (const r of list) {
      const from = r.offset - start;
      // A short object (truncated, or an index row past its end) fails the hash check below.
      check(r, span.subarray(from, from + r.length));
    }
  });
}
