import { describe, expect, it } from 'vitest';
import { SharedReads } from './shared-reads.js';

describe('shared reads', () => {
  it('computes once for callers arriving together and for later ones within the period', async () => {
    let computed = 0;
    const reads = new SharedReads<number>({ ttlMs: 1000, maxEntries: 4, onCompute: () => computed++ });
    let release!: (n: number) => void;
    const slow = () => new Promise<number>((r) => (release = r));
    const together = [reads.get('a', slow, 0), reads.get('a', slow, 10), reads.get('a', slow, 20)];
    release(7);
    expect(await Promise.all(together)).toEqual([7, 7, 7]);
    expect(await reads.get('a', () => Promise.resolve(8), 999)).toBe(7);
    expect(computed).toBe(1);
    expect(await reads.get('a', () => Promise.resolve(8), 1000)).toBe(8);
    expect(computed).toBe(2);
  });

  it('keeps no failure and at most maxEntries results, the least recently used dropped first', async () => {
    let computed = 0;
    const reads = new SharedReads<string>({ ttlMs: Infinity, maxEntries: 2, onCompute: () => computed++ });
    await expect(reads.get('x', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await reads.get('x', () => Promise.resolve('up'))).toBe('up');
    await reads.get('y', () => Promise.resolve('y'));
    await reads.get('x', () => Promise.resolve('again')); // x used last
    await reads.get('z', () => Promise.resolve('z')); // drops y
    expect(await reads.get('x', () => Promise.resolve('again'))).toBe('up');
    expect(await reads.get('y', () => Promise.resolve('y2'))).toBe('y2');
    expect(computed).toBe(5);
  });
});
