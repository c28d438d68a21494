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
  /**
   * Views of the records, one per `segmentBytes` of the file, each running on by the longest
   * record so that every record lies whole in the view of the segment it starts in. A position in
   * a view is a small integer, which V8 indexes with int32 arithmetic: a position read from the
   * f64 offsets table (or any above 2^31) is a double, and every byte index derived from it costs
   * a conversion, 1.6× the time per feature.
   */
  private readonly views: Uint8Array[] = [];
  private readonly data: DataView[] = [];

  constructor(
    private readonly buf: Buffer,
    readonly size: number,
    readonly extras: number,
    private readonly segmentBytes = 2 ** 30,
  ) {
    const tableBytes = (size + 1) * 8;
    if (buf.length < tableBytes) throw new Error('sparse store is truncated');
    const table = buf.subarray(buf.length - tableBytes);
    // Copied out so the f64 view is aligned whatever the file's length.
    this.offsets = new Float64Array(size + 1);
    Buffer.from(this.offsets.buffer).set(table);
    const end = buf.length - tableBytes;
    if (this.offsets[size] !== end) throw new Error('sparse store offsets disagree with its size');
    let longest = 0;
    for (let i = 0; i < size; i++) {
      const bytes = this.offsets[i + 1]! - this.offsets[i]!;
      if (!(bytes >= 8)) throw new Error(`sparse store record ${i} has a bad offset`);
      if (bytes > longest) longest = bytes;
    }
    // Plain Uint8Array and DataView views: V8 reads a Buffer (a subclass) more slowly in the loop.
    for (let start = 0; start < end; start += segmentBytes) {
      const length = Math.min(end, start + segmentBytes + longest) - start;
      this.views.push(new Uint8Array(buf.buffer, buf.byteOffset + start, length));
      this.data.push(new DataView(buf.buffer, buf.byteOffset + start, length));
    }
  }

  /** Extra value e of record i. */
  extra(i: number, e: number): number {
    return this.buf.readFloatLE(this.offsets[i]! + 8 + 4 * e);
  }

  /** x_q·x_i for the query held by `q` (set once per query). */
  dot(i: number, q: DenseQuery): number {
    const at = this.offsets[i]!;
    const segment = Math.floor(at / this.segmentBytes);
    const b = this.views[segment]!;
    const data = this.data[segment]!;
    let o = (at - segment * this.segmentBytes) | 0;
    const head = data.getUint32(o, true);
    const nnz = head & 0x3fffffff;
    const kind = head >>> 30;
    const scale = data.getFloat32(o + 4, true);
    o += 8 + 4 * this.extras;
    const dense = q.values;
    // Record bytes were written by SparseStoreWriter: every read below stays inside the record,
    // and every id is below the store's feature dimension, which q.values covers (DenseQuery).
    const width = kind === KIND_I8 ? 1 : kind === KIND_I16 ? 2 : 4;
    let s = 0;
    let id = 0;
    let g = o + nnz * width;
    for (let j = 0, v = o; j < nnz; j++, v += width) {
      const gap = b[g]! | (b[g + 1]! << 8);
      if (gap === ESCAPE) {
        id += data.getUint32(g + 2, true);
        g += 6;
      } else {
        id += gap;
        g += 2;
      }
      // The kind is the same for every feature of a record: a branch the CPU predicts.
      const c =
        kind === KIND_I8 ? (b[v]! << 24) >> 24 : kind === KIND_I16 ? data.getInt16(v, true) : data.getFloat32(v, true);
      s += dense[id]! * c;
    }
    return s * scale;
  }
}

/**
 * A query's features as a dense array over the feature space, reused from query to query (`set`
 * clears only the previous query's entries): a record feature costs one load, with no hash, probe
 * or branch, where an open-addressing table of the query cost 2–3× as much per record feature in
 * the branch on each probe's outcome. 8 bytes per feature dimension (2 MiB at 2^18): share one per
 * dimension between the indexes of a thread (a dot product never yields, so one query at a time).
 */
export class DenseQuery {
  readonly values: Float64Array;
  /** The ids set by the last query (its own copy: the caller may reuse its arrays). */
  private held = new Uint32Array(64);
  private count = 0;

  constructor(readonly dim: number) {
    this.values = new Float64Array(dim);
  }

  /** Holds `q` from now on; its ids must be below `dim`. */
  set(q: SparseVector): this {
    const { values } = this;
    for (let t = 0; t < this.count; t++) values[this.held[t]!] = 0;
    const n = q.indices.length;
    // indices are sorted (SparseVector): the last is the largest.
    if (n > 0 && q.indices[n - 1]! >= this.dim)
      throw new RangeError(`feature id ${q.indices[n - 1]} is outside ${this.dim}`);
    if (this.held.length < n) this.held = new Uint32Array(2 * n);
    this.held.set(q.indices);
    for (let t = 0; t < n; t++) values[q.indices[t]!] = q.values[t]!;
    this.count = n;
    return this;
  }
}
