import { describe, expect, it } from 'vitest';
import { splitFee } from './fee-split.js';
import { splitByWeight } from './split-by-weight.js';

const shares = { developer: 0.3, contributors: 0.4, reviewers: 0.1, governors: 0.1, treasury: 0.1 };

describe('fee split', () => {
  it('pays every party its share and the rounding remainder to the treasury, summing to the fee', () => {
    const out = splitFee(101n, shares, {
      developer: 'dev',
      contributors: [
        { contributor: 'c1', weight: 0.7 },
        { contributor: 'c2', weight: 0.3 },
      ],
      reviewers: [{ address: 'r1', weight: 2 }],
      governors: [
        { address: 'g1', weight: 100 },
        { address: 'g2', weight: 300 },
      ],
    });
    const by = (to: string) => out.filter((o) => o.to === to).reduce((s, o) => s + o.amount, 0n);
    expect(out.reduce((s, o) => s + o.amount, 0n)).toBe(101n);
    expect(by('dev')).toBe(30n);
    expect(by('c1') + by('c2')).toBe(40n);
    expect(by('c1')).toBe(28n);
    expect(by('r1')).toBe(10n);
    expect(by('g2')).toBeGreaterThan(by('g1'));
    expect(by('treasury')).toBe(101n - 30n - 40n - 10n - 10n);
  });

  it('sends a share nobody can take (no reviewers, no attribution) to the treasury', () => {
    const out = splitFee(10n, shares, { developer: 'dev', contributors: [], reviewers: [], governors: [] });
    expect(out).toEqual([
      { to: 'dev', amount: 3n, part: 'developer' },
      { to: 'treasury', amount: 7n, part: 'treasury' },
    ]);
  });

  it('splits by weight exactly, remainders to the largest fractions', () => {
    const s = splitByWeight(10n, [
      { key: 'a', weight: 1 },
      { key: 'b', weight: 1 },
      { key: 'c', weight: 1 },
    ]);
    expect(s.map((x) => x.amount)).toEqual([4n, 3n, 3n]);
    expect(splitByWeight(5n, [{ key: 'a', weight: 0 }])).toEqual([]);
  });
});
