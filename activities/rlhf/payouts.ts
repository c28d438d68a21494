import type { Ledger } from '../../db/ledger.js';
import { payFromBudget } from '../../db/budgets.js';
import { slashValidator } from '../../db/staking.js';

/**
 * Every review reward and penalty of a staked round moves here, once per (round, reviewer): the
 * reward from the proposal's treasury budget, the penalty from the reviewer's bond
 * (`stake:validator:<address>`, then its unbonding balance) to the treasury.
 */
export interface ReviewPayout {
  reviewer: string;
  reward: bigint;
  penalty: bigint;
}

export const reviewRewardKey = (proposalId: string, round: number, reviewer: string) =>
  `review:${proposalId}:r${round}:${reviewer}:reward`;
export const reviewPenaltyKey = (proposalId: string, round: number, reviewer: string) =>
  `rlhf:${proposalId}:r${round}:${reviewer}:penalty`;

export async function payReviewOutcomes(
  deps: { ledger: Ledger },
  a: { proposalId: string; round: number; payouts: readonly ReviewPayout[] },
): Promise<{ rewarded: string[]; penalised: string[]; unpaid: string[] }> {
  const { ledger } = deps;
  const rewarded: string[] = [];
  const penalised: string[] = [];
  const unpaid: string[] = [];
  for (const p of a.payouts) {
    if (p.reward > 0n) {
      // From the proposal's budget (at most what is left of it): an exhausted budget pays nothing
      // and the outcome row keeps what was earned.
      const { paid } = await payFromBudget(ledger, {
        proposalId: a.proposalId,
        to: p.reviewer,
        amount: p.reward.toString(),
        idempotencyKey: reviewRewardKey(a.proposalId, a.round, p.reviewer),
        reason: `review reward (round ${a.round})`,
      });
      (BigInt(paid) > 0n ? rewarded : unpaid).push(p.reviewer);
    }
    if (p.penalty > 0n) {
      // From the bond, then from what is unbonding: unstaking does not dodge a penalty. Keyed, so a
      // retry slashes once.
      const { slashed } = await slashValidator(ledger, {
        validator: p.reviewer,
        amount: p.penalty.toString(),
        idempotencyKey: reviewPenaltyKey(a.proposalId, a.round, p.reviewer),
        reason: `review penalty: disagreed with the stake consensus (round ${a.round})`,
        proposalId: a.proposalId,
      });
      if (BigInt(slashed) > 0n) penalised.push(p.reviewer);
    }
  }
  return { rewarded, penalised, unpaid };
}
