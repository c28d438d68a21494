import { splitByWeight } from './split-by-weight.js';
import { accountsOf } from '../../contracts/accounts.js';
import type { FeeShares } from '../lifecycle/types.js';

export interface Recipients {
  developer: string;
  /** This answer's attribution: contributor -> weight. */
  contributors: { contributor: string; weight: number }[];
  /** Reviewers and validators whose answers agreed with consensus, by count of agreeing answers. */
  reviewers: { address: string; weight: number }[];
  /** Governors who voted, by voting power. */
  governors: { address: string; weight: number }[];
}

/**
 * Splits one call's fee among developer, attributed contributors, reviewers, governors and the
 * treasury. Integer base units throughout; every rounding remainder and every share nobody can
 * take (no reviewers, say) goes to the treasury, so the parts always sum to the fee.
 */
export function splitFee(
  fee: bigint,
  shares: FeeShares,
  r: Recipients,
): { to: string; amount: bigint; part: keyof FeeShares }[] {
  const out: { to: string; amount: bigint; part: keyof FeeShares }[] = [];
  const partOf = (share: number) => (fee * BigInt(Math.round(share * 1_000_000))) / 1_000_000n;
  const add = (part: keyof FeeShares, items: { key: string; weight: number }[], amount: bigint) => {
    for (const s of splitByWeight(amount, items)) if (s.amount > 0n) out.push({ to: s.key, amount: s.amount, part });
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
  const paid = out.reduce((s, o) => s + o.amount, 0n);
  if (fee - paid > 0n) out.push({ to: accountsOf.treasury, amount: fee - paid, part: 'treasury' });
  return out;
}
