import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chargeOf, feeSplitter, splitFee, type Recipients } from './fee-split.js';
import { splitByWeight } from './split-by-weight.js';
import { accountsOf } from '../../contracts/accounts.js';
import type { FeeShares } from '../lifecycle/types.js';

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

describe('fee split, properties', () => {
  const address = fc.constantFrom('dev', 'a', 'b', 'c', 'payer', 'treasury');
  const weight = fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constantFrom(0, -1, NaN, Infinity));
  const share = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1, 0.1234565, -0.5, NaN));
  const shares = fc.record({
    developer: share,
    contributors: share,
    reviewers: share,
    governors: share,
    treasury: share,
  });
  const recipients = fc.record({
    developer: address,
    contributors: fc.array(fc.record({ contributor: address, weight }), { maxLength: 6 }),
    reviewers: fc.array(fc.record({ address, weight }), { maxLength: 4 }),
    governors: fc.array(fc.record({ address, weight }), { maxLength: 4 }),
  });
  const fee = fc.oneof(fc.bigInt({ min: 0n, max: 1_000n }), fc.bigInt({ min: 0n, max: 10n ** 30n }));

  it('parts are positive and sum exactly to the fee, whatever the shares, weights and recipients', () => {
    fc.assert(
      fc.property(fee, shares, recipients, (f, s, r) => {
        const out = splitFee(f, s, r);
        for (const o of out) expect(o.amount > 0n).toBe(true);
        expect(out.reduce((sum, o) => sum + o.amount, 0n)).toBe(f);
      }),
      { numRuns: 2000 },
    );
  });

  it('a payer who is also a recipient is charged the fee minus their own parts, never more than the fee', () => {
    fc.assert(
      fc.property(fee, shares, recipients, address, (f, s, r, payer) => {
        const out = splitFee(f, s, r);
        const { transfers, charge, kept } = chargeOf(payer, out);
        expect(transfers.every((t) => t.to !== payer)).toBe(true);
        expect(charge + kept).toBe(f);
        expect(charge >= 0n && charge <= f).toBe(true);
        expect(kept).toBe(out.filter((o) => o.to === payer).reduce((sum, o) => sum + o.amount, 0n));
      }),
      { numRuns: 2000 },
    );
  });

  /** The split as it was written before feeSplitter: every part computed afresh for each call (the oracle). */
  function splitOnce(fee: bigint, shares: FeeShares, r: Recipients) {
    const out: { to: string; amount: bigint; part: keyof FeeShares }[] = [];
    let left = fee > 0n ? fee : 0n;
    const partOf = (share: number) => {
      const millionths = Number.isFinite(share) && share > 0 ? BigInt(Math.round(share * 1_000_000)) : 0n;
      const amount = (fee * millionths) / 1_000_000n;
      return amount < left ? amount : left;
    };
    const add = (part: keyof FeeShares, items: { key: string; weight: number }[], amount: bigint) => {
      for (const x of splitByWeight(amount, items))
        if (x.amount > 0n) {
          out.push({ to: x.key, amount: x.amount, part });
          left -= x.amount;
        }
    };
    add('developer', [{ key: r.developer, weight: 1 }], partOf(shares.developer));
    add(
      'contributors',
      r.contributors.map((c) => ({ key: c.contributor, weight: c.weight })),
      partOf(shares.contributors),
    );
    add(
      'reviewers',
      r.reviewers.map((x) => ({ key: x.address, weight: x.weight })),
      partOf(shares.reviewers),
    );
    add(
      'governors',
      r.governors.map((x) => ({ key: x.address, weight: x.weight })),
      partOf(shares.governors),
    );
    if (left > 0n) out.push({ to: 'treasury', amount: left, part: 'treasury' });
    return out;
  }

  it('one splitter reused for many calls of a version answers each call as a fresh split would', () => {
    fc.assert(
      fc.property(
        fee,
        shares,
        recipients,
        fc.array(
          recipients.map((r) => r.contributors),
          { maxLength: 8 },
        ),
        (f, s, r, calls) => {
          const split = feeSplitter(f, s, r);
          for (const contributors of [r.contributors, ...calls]) {
            const want = splitOnce(f, s, { ...r, contributors }).map((o) => ({
              ...o,
              to: o.part === 'treasury' ? accountsOf.treasury : o.to,
            }));
            const got = split(contributors);
            expect(got).toEqual(want);
            // What a caller does with its answer does not leak into the next call's.
            for (const o of got) o.amount = -1n;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('shares that round up past 1 never charge more than the fee', () => {
    const out = splitFee(
      1_000_000n,
      { developer: 0.1234565, contributors: 0.8765435, reviewers: 0, governors: 0, treasury: 0 },
      { developer: 'dev', contributors: [{ contributor: 'c', weight: 1 }], reviewers: [], governors: [] },
    );
    expect(out.reduce((sum, o) => sum + o.amount, 0n)).toBe(1_000_000n);
  });
});
