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

export type FeeSplit = { to: string; amount: bigint; part: keyof FeeShares }[];

/**
 * Splits one call's fee among developer, attributed contributors, reviewers, governors and the
 * treasury. Integer base units throughout; every rounding remainder and every share nobody can
 * take (no reviewers, say) goes to the treasury, so the parts always sum to the fee. Each part is
 * capped at what is left of the fee, so shares that round up (or sum past 1) never charge more
 * than the fee, and a negative or non-finite share counts as 0.
 */
export function splitFee(fee: bigint, shares: FeeShares, r: Recipients): FeeSplit {
  return feeSplitter(fee, shares, r)(r.contributors);
}

/**
 * splitFee for many calls of one model version: the fee, the shares and every recipient but the
 * attributed contributors are fixed, so the developer's, reviewers' and governors' parts are
 * computed once per amount left after the contributors (one or two values in practice) instead
 * of once per call. `feeSplitter(fee, shares, r)(c)` equals `splitFee(fee, shares, { ...r, contributors: c })`.
 */
export function feeSplitter(
  fee: bigint,
  shares: FeeShares,
  r: Omit<Recipients, 'contributors'>,
): (contributors: Recipients['contributors']) => FeeSplit {
  const total = fee > 0n ? fee : 0n;
  const partOf = (share: number, left: bigint) => {
    const millionths = Number.isFinite(share) && share > 0 ? BigInt(Math.round(share * 1_000_000)) : 0n;
    const amount = (fee * millionths) / 1_000_000n;
    return amount < left ? amount : left;
  };
  /** The parts of `items` out of `amount` (those above 0), and what they sum to. */
  const split = (part: keyof FeeShares, items: { key: string; weight: number }[], amount: bigint) => {
    const out: FeeSplit = [];
    let sum = 0n;
    for (const s of splitByWeight(amount, items))
      if (s.amount > 0n) {
        out.push({ to: s.key, amount: s.amount, part });
        sum += s.amount;
      }
    return { out, sum };
  };
  const developer = split('developer', [{ key: r.developer, weight: 1 }], partOf(shares.developer, total));
  const afterDeveloper = total - developer.sum;
  const contributorsPart = partOf(shares.contributors, afterDeveloper);
  const reviewers = r.reviewers.map((x) => ({ key: x.address, weight: x.weight }));
  const governors = r.governors.map((x) => ({ key: x.address, weight: x.weight }));
  // What follows the contributors depends only on what they left: reviewers, governors, treasury.
  const tails = new Map<bigint, FeeSplit>();
  const tailOf = (left: bigint): FeeSplit => {
    let tail = tails.get(left);
    if (!tail) {
      const rev = split('reviewers', reviewers, partOf(shares.reviewers, left));
      const gov = split('governors', governors, partOf(shares.governors, left - rev.sum));
      const rest = left - rev.sum - gov.sum;
      tail = [...rev.out, ...gov.out];
      if (rest > 0n) tail.push({ to: accountsOf.treasury, amount: rest, part: 'treasury' });
      if (tails.size < 64) tails.set(left, tail);
    }
    return tail;
  };
  return (contributors) => {
    const c = split(
      'contributors',
      contributors.map((x) => ({ key: x.contributor, weight: x.weight })),
      contributorsPart,
    );
    // Fresh objects: a caller may change what it gets without touching the memo.
    return [...developer.out, ...c.out, ...tailOf(afterDeveloper - c.sum)].map((t) => ({ ...t }));
  };
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
