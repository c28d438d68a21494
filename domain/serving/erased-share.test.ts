import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { payableContributors, type AttributedAnswer } from './erased-share.js';
import { splitFee } from './fee-split.js';
import { accountsOf } from '../../contracts/accounts.js';

const shares = { developer: 0.3, contributors: 0.4, reviewers: 0.1, governors: 0.1, treasury: 0.1 };

/** An answer attributed to its records the way every predictor does it: weights are summed influences. */
function answer(records: { hash: string; contributor: string; influence: number }[]): AttributedAnswer {
  const total = records.reduce((s, r) => s + r.influence, 0);
  const by = new Map<string, number>();
  for (const r of records) by.set(r.contributor, (by.get(r.contributor) ?? 0) + r.influence / total);
  return { contributors: [...by].map(([contributor, weight]) => ({ contributor, weight })), records };
}

describe('the fee share of erased records', () => {
  const a = answer([
    { hash: 'h1', contributor: 'alice', influence: 3 },
    { hash: 'h2', contributor: 'alice', influence: 1 },
    { hash: 'h3', contributor: 'bob', influence: 4 },
  ]);

  it('changes nothing while no attributed record is erased', () => {
    expect(payableContributors(a, new Set())).toBe(a.contributors);
    expect(payableContributors(a, new Set(['other']))).toEqual(a.contributors);
  });

  it("moves an erased record's share from its contributor to the treasury, the others' untouched", () => {
    const out = payableContributors(a, new Set(['h1']));
    expect(out).toEqual([
      { contributor: 'alice', weight: 1 / 8 },
      { contributor: 'bob', weight: 4 / 8 },
      { contributor: accountsOf.treasury, weight: 3 / 8 },
    ]);
  });

  it('drops a contributor whose every attributed record is erased', () => {
    const out = payableContributors(a, new Set(['h1', 'h2']));
    expect(out.map((c) => c.contributor)).toEqual(['bob', accountsOf.treasury]);
    expect(out.find((c) => c.contributor === accountsOf.treasury)?.weight).toBeCloseTo(0.5, 12);
  });

  it('in a fee split, the erased share of the contributors part is paid to the treasury', () => {
    const recipients = { developer: 'dev', reviewers: [], governors: [] };
    const before = splitFee(1000n, shares, { ...recipients, contributors: a.contributors });
    const after = splitFee(1000n, shares, { ...recipients, contributors: payableContributors(a, new Set(['h3'])) });
    const paid = (s: typeof before, to: string) => s.filter((x) => x.to === to).reduce((n, x) => n + x.amount, 0n);
    expect(paid(before, 'bob')).toBe(200n);
    expect(paid(after, 'bob')).toBe(0n);
    expect(paid(after, 'alice')).toBe(paid(before, 'alice'));
    expect(paid(after, accountsOf.treasury)).toBe(paid(before, accountsOf.treasury) + 200n);
    expect(after.find((x) => x.to === accountsOf.treasury && x.part === 'contributors')?.amount).toBe(200n);
  });

  it('ignores an attribution without influence (nothing to take a share from)', () => {
    const none = { contributors: [{ contributor: 'alice', weight: 1 }], records: [] };
    expect(payableContributors(none, new Set(['h1']))).toBe(none.contributors);
  });

  it('keeps the weights summing to what they summed to, and never pays an erased record to anyone but the treasury', () => {
    const rec = fc.record({
      hash: fc.constantFrom('h0', 'h1', 'h2', 'h3', 'h4', 'h5'),
      contributor: fc.constantFrom('alice', 'bob', 'carol'),
      influence: fc.double({ min: 0.001, max: 100, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(rec, { minLength: 1, maxLength: 6, selector: (r) => r.hash }),
        fc.subarray(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']),
        (records, erasedList) => {
          const x = answer(records);
          const erased = new Set(erasedList);
          const out = payableContributors(x, erased);
          const sum = (cs: { weight: number }[]) => cs.reduce((s, c) => s + c.weight, 0);
          expect(sum(out)).toBeCloseTo(sum(x.contributors), 9);
          // Each contributor keeps exactly the share of their records that are not erased.
          for (const c of out.filter((o) => o.contributor !== accountsOf.treasury)) {
            const total = records.reduce((s, r) => s + r.influence, 0);
            const kept = records
              .filter((r) => r.contributor === c.contributor && !erased.has(r.hash))
              .reduce((s, r) => s + r.influence / total, 0);
            expect(c.weight).toBeCloseTo(kept, 9);
          }
        },
      ),
    );
  });
});
