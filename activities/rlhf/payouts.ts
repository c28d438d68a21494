import type postgres from 'postgres';
import { InsufficientFundsError, type Ledger } from '../../db/ledger.js';
import { accountsOf } from '../../contracts/accounts.js';

/**
 * Every review reward and penalty of a staked round moves here, once per (round, reviewer): the
 * reward from the treasury, the penalty from the reviewer's bond (`stake:validator:<address>`) to
 * the treasury. The one place to route review payouts through a proposal's treasury budget.
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
  deps: { sql: postgres.Sql; ledger: Ledger },
  a: { proposalId: string; round: number; payouts: readonly ReviewPayout[] },
): Promise<{ rewarded: string[]; penalised: string[]; unpaid: string[] }> {
  const { sql, ledger } = deps;
  const rewarded: string[] = [];
  const penalised: string[] = [];
  const unpaid: string[] = [];
  for (const p of a.payouts) {
    if (p.reward > 0n) {
      try {
        await ledger.transfer({
          idempotencyKey: reviewRewardKey(a.proposalId, a.round, p.reviewer),
          asset: 'OPEN',
          from: accountsOf.treasury,
          to: p.reviewer,
          amount: p.reward.toString(),
          reason: `review reward (round ${a.round})`,
          proposalId: a.proposalId,
        });
        rewarded.push(p.reviewer);
      } catch (err) {
        // An empty treasury pays nothing; the outcome row still records what was earned.
        if (!(err instanceof InsufficientFundsError)) throw err;
        unpaid.push(p.reviewer);
      }
    }
    if (p.penalty > 0n) {
      const key = reviewPenaltyKey(a.proposalId, a.round, p.reviewer);
      // A retry finds the transfer it made; the first attempt slashes at most what is bonded.
      const [done] = await sql<{ amount: string }[]>`select amount from transfers where idempotency_key = ${key}`;
      const bonded = BigInt(await ledger.balance(accountsOf.validatorStake(p.reviewer), 'OPEN'));
      const amount = done ? BigInt(done.amount) : p.penalty < bonded ? p.penalty : bonded;
      if (amount > 0n) {
        await ledger.transfer({
          idempotencyKey: key,
          asset: 'OPEN',
          from: accountsOf.validatorStake(p.reviewer),
          to: accountsOf.treasury,
          amount: amount.toString(),
          reason: `review penalty: disagreed with the stake consensus (round ${a.round})`,
          proposalId: a.proposalId,
        });
        penalised.push(p.reviewer);
      }
    }
  }
  return { rewarded, penalised, unpaid };
}
