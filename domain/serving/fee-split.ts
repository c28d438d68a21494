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
 * take (no reviewers, say) goes to the treasury, so the parts always sum to the fee. Each part is
 * capped at what is left of the fee, so shares that round up (or sum past 1) never charge more
 * than the fee, and a negative or non-finite share counts as 0.
 */
export function splitFee(
  fee: bigint,
  shares: FeeShares,
  r: Recipients,
): { to: string; amount: bigint; part: keyof FeeShares }[] {
  const out: { to: string; amount: bigint; part: keyof FeeShares }[] = [];
  let left = fee > 0n ? fee : 0n;
  const partOf = (share: number) => {
    const millionths = Number.isFinite(share) && share > 0 ? BigInt(Math.round(share * 1_000_000)) : 0n;
    const amount = (fee * millionths) / 1_000_000n;
    return amount < left ? amount : left;
  };
  const add = (part: keyof FeeShares, items: { key: string; weight: number }[], amount: bigint) => {
    for (const s of splitByWeight(amount, items))
      if (s.amount > 0n) {
        out.push({ to: s.key, amount: s.amount, part });
        left -= s.amount;
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
  if (left > 0n) out.push({ to: accountsOf.treasury, amount: left, part: 'treasury' });
  return out;
}

/**
 * What a payer is actually charged for one call: the parts that go to others. A payer who is also a
 * recipient (a developer calling their own model, an attributed contributor, a reviewer or voting
 * governor) simply keeps their own part; the ledger never sees a transfer to oneself.
 */
export function chargeOf<S extends { to: string; amount: bigint }>(
  payer: string,
  splits: S[],
): { transfers: S[]; charge: bigint; kept: bigint } {
  const transfers = splits.filter((s) => s.to !== payer);
  const charge = transfers.reduce((sum, s) => sum + s.amount, 0n);
  const kept = splits.reduce((sum, s) => sum + s.amount, 0n) - charge;
  return { transfers, charge, kept };
}
