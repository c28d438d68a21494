/**
 * A flat file of sparse vectors, one record after another, written once by streaming and read
 * back by record number: what an index keeps to score its search candidates exactly instead of
 * from a lossy sketch. Generic on purpose: a record is a sparse vector plus a few f32 "extra"
 * values the caller defines (the attribution index keeps each record's residual there).
 *
 * Hashed-feature vectors are integer counts scaled to unit norm, so a record is stored as the
 * counts (i8, or i16 when one exceeds 127) and one f32 scale, ids as u16 gaps (0xFFFF escapes to
 * a u32 gap): about 3 bytes per feature, and the dot product is exact up to f32 rounding. A
 * vector that is not a scaled integer one keeps its f32 values.
 *
 * Layout of a record: u32 (nnz | kind << 30), f32 scale, `extras` × f32, the values, the gaps.
 * After the last record, (n + 1) f64 byte offsets (exact below 2^53, so any file size).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { SparseVector } from '../embedded/features.js';

const KIND_I8 = 0;
const KIND_I16 = 1;
const KIND_F32 = 2;
const ESCAPE = 0xffff;
/** Largest multiplier tried when recovering integer counts from unit-norm values. */
const MAX_MULTIPLIER = 6;

/** The counts c (and scale s, with v = s·c) of a unit-norm vector of integer counts, if it is one. */
function integerCounts(values: Float32Array): { counts: Int32Array; scale: number } | undefined {
  let min = Infinity;
  for (const v of values) if (v !== 0 && Math.abs(v) < min) min = Math.abs(v);
  if (!Number.isFinite(min)) return undefined;
  const counts = new Int32Array(values.length);
  // The smallest value is a count of 1·g for some g; counts whose gcd is g are found at t = 1,
  // others (e.g. 2 and 3) at a small multiplier t.
  for (let t = 1; t <= MAX_MULTIPLIER; t++) {
    let nn = 0;
    let ok = true;
    for (let j = 0; j < values.length; j++) {
      const k = (values[j]! * t) / min;
      const c = Math.round(k);
      if (Math.abs(k - c) > 1e-3 || Math.abs(c) > 32767) {
        ok = false;
        break;
      }
      counts[j] = c;
      nn += c * c;
    }
    if (!ok) continue;
    const scale = 1 / Math.sqrt(nn);
    // j < values.length = counts.length.
    for (let j = 0; j < values.length; j++) if (Math.abs(counts[j]! * scale - values[j]!) > 1e-6) ok = false;
    if (ok) return { counts, scale };
  }
  return undefined;
}

/** Appends records to a file; `finish` writes the offsets and closes it. Memory: 8 bytes per record. */
export class SparseStoreWriter {
  private readonly fd: number;
  private offsets = new Float64Array(1024);
  private n = 0;
  private at = 0;
  private buf = Buffer.alloc(1 << 16);
  private closed = false;

  constructor(
    readonly path: string,
    readonly extras: number,
  ) {
    this.fd = openSync(path, 'w');
  }

  get size(): number {
    return this.n;
  }

  add(x: SparseVector, extra: ArrayLike<number>): void {
    const nnz = x.indices.length;
    const ints = integerCounts(x.values);
    let kind = KIND_F32;
    if (ints) kind = ints.counts.every((c) => c >= -127 && c <= 127) ? KIND_I8 : KIND_I16;
    const valueBytes = kind === KIND_I8 ? 1 : kind === KIND_I16 ? 2 : 4;
    const max = 8 + 4 * this.extras + nnz * 6 + nnz * valueBytes;
    if (this.buf.length < max) this.buf = Buffer.alloc(2 * max);
    const b = this.buf;
    b.writeUInt32LE((nnz | (kind << 30)) >>> 0, 0);
    b.writeFloatLE(ints ? ints.scale : 1, 4);
    let o = 8;
    for (let e = 0; e < this.extras; e++, o += 4) b.writeFloatLE(extra[e]!, o);
    for (let j = 0; j < nnz; j++) {
      if (kind === KIND_I8) b.writeInt8(ints!.counts[j]!, o++);
      else if (kind === KIND_I16) {
        b.writeInt16LE(ints!.counts[j]!, o);
        o += 2;
      } else {
        b.writeFloatLE(x.values[j]!, o);
        o += 4;
      }
    }
    let prev = 0;
    // indices are sorted and unique (SparseVector), so every gap is positive.
    for (let j = 0; j < nnz; j++) {
      const id = x.indices[j]!;
      const gap = id - prev;
      prev = id;
      if (gap < ESCAPE) {
        b.writeUInt16LE(gap, o);
        o += 2;
      } else {
        b.writeUInt16LE(ESCAPE, o);
        b.writeUInt32LE(gap, o + 2);
        o += 6;
      }
    }
    this.write(b.subarray(0, o));
    if (this.n + 2 > this.offsets.length) {
      const grown = new Float64Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[++this.n] = this.at;
  }

  private write(bytes: Uint8Array): void {
    for (let off = 0; off < bytes.length;) off += writeSync(this.fd, bytes, off, bytes.length - off);
    this.at += bytes.length;
  }

  /** Writes the offsets table and closes the file; returns its size in bytes. */
  finish(): number {
    const table = this.offsets.subarray(0, this.n + 1);
    this.write(new Uint8Array(table.buffer, table.byteOffset, table.byteLength));
    this.close();
    return this.at;
  }

  /** Closes the file without finishing it (a build that failed); safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** A sparse store read into memory; dot products against a dense query. */
export class SparseStore {
  private readonly offsets: Float64Array;

  constructor(
    private readonly buf: Buffer,
    readonly size: number,
    readonly extras: number,
  ) {
    const tableBytes = (size + 1) * 8;
    if (buf.length < tableBytes) throw new Error('sparse store is truncated');
    const table = buf.subarray(buf.length - tableBytes);
    // Copied out so the f64 view is aligned whatever the file's length.
    this.offsets = new Float64Array(size + 1);
    Buffer.from(this.offsets.buffer).set(table);
    if (this.offsets[size] !== buf.length - tableBytes) throw new Error('sparse store offsets disagree with its size');
  }

  /** Extra value e of record i. */
  extra(i: number, e: number): number {
    return this.buf.readFloatLE(this.offsets[i]! + 8 + 4 * e);
  }

  /** x_q·x_i for the query held by `q` (a QueryTable, built once per query). */
  dot(i: number, q: QueryTable): number {
    const b = this.buf;
    let o = this.offsets[i]!;
    const head = b.readUInt32LE(o);
    const nnz = head & 0x3fffffff;
    const kind = head >>> 30;
    const scale = b.readFloatLE(o + 4);
    o += 8 + 4 * this.extras;
    let v = o;
    const width = kind === KIND_I8 ? 1 : kind === KIND_I16 ? 2 : 4;
    o += nnz * width;
    const { keys, values, mask } = q;
    let id = 0;
    let s = 0;
    // Record bytes were written by SparseStoreWriter: every read below stays inside the record;
    // slots are masked into keys/values (same length), and a table is never full (see QueryTable).
    for (let j = 0; j < nnz; j++, v += width) {
      const g = b[o]! | (b[o + 1]! << 8);
      if (g === ESCAPE) {
        id += b.readUInt32LE(o + 2);
        o += 6;
      } else {
        id += g;
        o += 2;
      }
      let slot = Math.imul(id, 0x9e3779b1) & mask;
      let k = keys[slot]!;
      while (k !== id && k !== -1) {
        slot = (slot + 1) & mask;
        k = keys[slot]!;
      }
      if (k === -1) continue;
      const c = kind === KIND_I8 ? (b[v]! << 24) >> 24 : kind === KIND_I16 ? b.readInt16LE(v) : b.readFloatLE(v);
      s += values[slot]! * c;
    }
    return s * scale;
  }
}

/**
 * A query's features in a small open-addressing table (at most a quarter full, so a few KiB that
 * stay in the L1 cache): each record feature is one multiply and usually one probe, where a merge
 * of two sorted id lists mispredicts a branch per step and a feature-sized dense array misses the
 * cache per lookup. Reused from query to query (`set`), so a call allocates nothing.
 */
export class QueryTable {
  keys = new Int32Array(64).fill(-1);
  values = new Float64Array(64);
  mask = 63;
  private used = new Int32Array(16);
  private count = 0;

  constructor(q?: SparseVector) {
    if (q) this.set(q);
  }

  /** Holds `q` from now on (the previous query's slots are cleared). */
  set(q: SparseVector): this {
    const n = q.indices.length;
    if (4 * n > this.keys.length) {
      let size = this.keys.length;
      while (size < 4 * n) size *= 2;
      this.keys = new Int32Array(size).fill(-1);
      this.values = new Float64Array(size);
      this.mask = size - 1;
    } else for (let t = 0; t < this.count; t++) this.keys[this.used[t]!] = -1;
    if (this.used.length < n) this.used = new Int32Array(n);
    // Feature ids are below 2^31 (features.ts caps dim), so they fit an Int32Array and never equal
    // −1; t < n = q.values.length (SparseVector) <= used.length.
    for (let t = 0; t < n; t++) {
      const id = q.indices[t]!;
      let slot = Math.imul(id, 0x9e3779b1) & this.mask;
      while (this.keys[slot] !== -1) slot = (slot + 1) & this.mask;
      this.keys[slot] = id;
      this.values[slot] = q.values[t]!;
      this.used[t] = slot;
    }
    this.count = n;
    return this;
  }
}
