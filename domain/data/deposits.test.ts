import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordStatus } from './attribution-weights.js';
import { breakEvenDeposit, settleDeposits } from './deposits.js';

const statusArb = fc.constantFrom<RecordStatus>('accepted', 'rejected', 'duplicate', 'near-duplicate');

describe('settleDeposits', () => {
  it('refunds accepted records and forfeits the rest, per record', () => {
    const s = settleDeposits(
      [
        { contributor: 'b', status: 'accepted' },
        { contributor: 'a', status: 'rejected' },
        { contributor: 'a', status: 'accepted' },
        { contributor: 'a', status: 'near-duplicate' },
        { contributor: 'a', status: 'duplicate' },
      ],
      5n,
    );
    expect(s).toEqual([
      { contributor: 'a', records: 4, deposited: 20n, refunded: 5n, forfeited: 15n },
      { contributor: 'b', records: 1, deposited: 5n, refunded: 5n, forfeited: 0n },
    ]);
    expect(() => settleDeposits([], -1n)).toThrow(/negative/);
  });

  it('throwaway accounts cannot shed forfeits: any split across accounts forfeits the same total', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ status: statusArb, account: fc.integer({ min: 0, max: 99 }) }), { maxLength: 80 }),
        fc.bigInt({ min: 0n, max: 10n ** 18n }),
        (records, deposit) => {
          const one = settleDeposits(
            records.map((r) => ({ contributor: 'me', status: r.status })),
            deposit,
          );
          const split = settleDeposits(
            records.map((r) => ({ contributor: `sybil${r.account}`, status: r.status })),
            deposit,
          );
          const total = (xs: typeof split, k: 'forfeited' | 'refunded') => xs.reduce((a, x) => a + x[k], 0n);
          expect(total(split, 'forfeited')).toBe(total(one, 'forfeited'));
          expect(total(split, 'refunded')).toBe(total(one, 'refunded'));
          for (const s of split) expect(s.refunded + s.forfeited).toBe(s.deposited);
        },
      ),
    );
  });

  it('break-even deposit for near-copies', () => {
    expect(breakEvenDeposit(0.5, 10)).toBeCloseTo(10);
    expect(breakEvenDeposit(0.99, 10)).toBeCloseTo(0.101, 3);
    expect(breakEvenDeposit(0, 10)).toBe(Infinity);
  });
});
