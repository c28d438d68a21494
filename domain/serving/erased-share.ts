import { accountsOf } from '../../contracts/accounts.js';
import type { Recipients } from './fee-split.js';

/**
 * The rule for a model version trained on a record that was erased afterwards: the version is
 * served until the next one, but from the erasure on that record's share of each call's fee goes
 * to the treasury, not to its contributor. Erasure withdraws the record, so its contributor stops
 * earning from it; nobody else earns from it either (the treasury is no party that could erase a
 * rival's records to gain their share).
 *
 * A record's share of an answer is its influence over the total influence of the records the
 * answer is attributed to: every predictor sums those same influences into its contributors'
 * weights, so the erased records' fraction is taken out of their contributors' weights and given to
 * the treasury as one more entry. The weights keep their sum, so the contributors' part of the fee
 * is the same amount, split differently.
 */
export interface AttributedAnswer {
  contributors: Recipients['contributors'];
  records: readonly { hash: string; contributor: string; influence: number }[];
}

/** The contributors a call's fee share goes to, given the hashes of erased records among its attribution. */
export function payableContributors(a: AttributedAnswer, erased: ReadonlySet<string>): Recipients['contributors'] {
  if (erased.size === 0) return a.contributors;
  const positive = (x: number) => (Number.isFinite(x) && x > 0 ? x : 0);
  let total = 0;
  for (const r of a.records) total += positive(r.influence);
  if (total === 0) return a.contributors;
  const withdrawn = new Map<string, number>();
  for (const r of a.records)
    if (erased.has(r.hash))
      withdrawn.set(r.contributor, (withdrawn.get(r.contributor) ?? 0) + positive(r.influence) / total);
  if (withdrawn.size === 0) return a.contributors;
  let toTreasury = 0;
  const out: Recipients['contributors'] = [];
  for (const c of a.contributors) {
    const taken = Math.min(positive(c.weight), withdrawn.get(c.contributor) ?? 0);
    toTreasury += taken;
    const left = positive(c.weight) - taken;
    // A float remainder of a fully erased contributor is no share.
    if (left > 1e-12) out.push({ contributor: c.contributor, weight: left });
  }
  if (toTreasury > 0) out.push({ contributor: accountsOf.treasury, weight: toTreasury });
  return out;
}
