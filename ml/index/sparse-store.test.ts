import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_FEATURE_OPTIONS, featurize, sparseDot, type SparseVector } from '../embedded/features.js';
import { DenseQuery, SparseStore, SparseStoreWriter } from './sparse-store.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('SparseStore', () => {
  it('gives back exact dot products and extras for counts, large counts, far-apart ids and arbitrary values', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'commons-sparse-'));
    dirs.push(dir);
    const vectors: SparseVector[] = [
      featurize('the striker scored a late goal for the home team'),
      // One word 300 times: counts beyond an i8.
      featurize(`${'spam '.repeat(300)}and eggs`),
      // Ids more than 0xFFFF apart (the escaped gap) and values that are no scaled integers.
      { indices: Uint32Array.from([3, 70_000, 250_000]), values: Float32Array.from([0.1, -0.7, 0.3]) },
      // Counts 2 and 3: integers only after a multiplier.
      (() => {
        const n = Math.sqrt(13);
        return { indices: Uint32Array.from([5, 9]), values: Float32Array.from([2 / n, -3 / n]) };
      })(),
      { indices: new Uint32Array(0), values: new Float32Array(0) },
    ];
    const w = new SparseStoreWriter(join(dir, 'f.bin'), 2);
    vectors.forEach((x, i) => w.add(x, [i, -i / 2]));
    const bytes = w.finish();
    const buf = await readFile(join(dir, 'f.bin'));
    expect(buf.length).toBe(bytes);
    const store = new SparseStore(buf, vectors.length, 2);
    const query = featurize('a goal for the team, and spam and eggs');
    // One dense query reused for every query, as the index does.
    const table = new DenseQuery(DEFAULT_FEATURE_OPTIONS.dim);
    for (const [i, x] of vectors.entries()) {
      expect(store.extra(i, 0)).toBe(i);
      expect(store.extra(i, 1)).toBe(-i / 2);
      expect(store.dot(i, table.set(query))).toBeCloseTo(sparseDot(query, x), 6);
      expect(store.dot(i, table.set(x))).toBeCloseTo(sparseDot(x, x), 6);
    }
    // Read through views of 16-byte segments (in production 1 GiB): every record starts in one
    // segment and may run into the next, and the dot products stay the same.
    const segmented = new SparseStore(buf, vectors.length, 2, 16);
    for (const [i, x] of vectors.entries()) expect(segmented.dot(i, table.set(x))).toBe(store.dot(i, table));
    // About 3 bytes per feature for a hashed-feature record (u16 gap, i8 count).
    const first = vectors[0]!.indices.length;
    expect(buf.readUInt32LE(0) & 0x3fffffff).toBe(first);
    expect(() => new SparseStore(buf, vectors.length + 1, 2)).toThrow(/sparse store/);
  });

  it('refuses a query feature outside the dense query, and clears a query when the next is set', () => {
    const q = new DenseQuery(16);
    expect(() => q.set({ indices: Uint32Array.from([3, 16]), values: Float32Array.from([1, 1]) })).toThrow(
      /outside 16/,
    );
    q.set({ indices: Uint32Array.from([2, 7]), values: Float32Array.from([0.6, 0.8]) });
    q.set({ indices: Uint32Array.from([5]), values: Float32Array.from([1]) });
    expect([...q.values].filter((v) => v !== 0)).toEqual([1]);
  });
});
