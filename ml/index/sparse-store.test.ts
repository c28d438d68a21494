import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { featurize, sparseDot, type SparseVector } from '../embedded/features.js';
import { QueryTable, SparseStore, SparseStoreWriter } from './sparse-store.js';

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
    // One table reused for every query, as the index does.
    const table = new QueryTable();
    for (const [i, x] of vectors.entries()) {
      expect(store.extra(i, 0)).toBe(i);
      expect(store.extra(i, 1)).toBe(-i / 2);
      expect(store.dot(i, table.set(query))).toBeCloseTo(sparseDot(query, x), 6);
      expect(store.dot(i, table.set(x))).toBeCloseTo(sparseDot(x, x), 6);
    }
    // About 3 bytes per feature for a hashed-feature record (u16 gap, i8 count).
    const first = vectors[0]!.indices.length;
    expect(buf.readUInt32LE(0) & 0x3fffffff).toBe(first);
    expect(() => new SparseStore(buf, vectors.length + 1, 2)).toThrow(/sparse store/);
  });
});
