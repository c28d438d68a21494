/**
 * Proposal budgets. A passed proposal's budget moves from the treasury into its own account,
 * budget:proposal:<id>, in one transaction with the proposal row (so the reservation is either
 * there or not). Everything paid for that proposal — review rewards, the contributor reward pool —
 * is paid from that account and never more than what is left in it; concurrent payers lock the
 * one balance, so none can run short or fail for funds, and the treasury is never touched by
 * them. What is left returns to the treasury when the lifecycle ends.
 */
import type postgres from 'postgres';
import { accountsOf } from '../contracts/accounts.js';
import { InsufficientFundsError, postTransfers, type Ledger } from './ledger.js';

export const budgetKeys = {
  reserve: (proposalId: string) => `proposal:${proposalId}:budget-reserve`,
  release: (proposalId: string) => `proposal:${proposalId}:budget-release`,
};

/**
 * Reserves `amount` of the treasury for the proposal, once (a retry reserves nothing more).
 * Throws InsufficientFundsError when the treasury cannot cover it: nothing is reserved then.
 */
export async function reserveBudget(
  sql: postgres.Sql,
  a: { proposalId: string; amount: string },
): Promise<{ reserved: string }> {
  try {
    return await sql.begin(async (tx) => {
      const [row] = await tx<{ budget_reserved: string | null }[]>`
        select budget_reserved::text from proposals where id = ${a.proposalId} for update`;
      if (!row) throw new Error(`no proposal ${a.proposalId}`);
      if (row.budget_reserved !== null) return { reserved: row.budget_reserved };
      if (BigInt(a.amount) > 0n)
        await postTransfers(tx, [
          {
            idempotencyKey: budgetKeys.reserve(a.proposalId),
            asset: 'OPEN',
            from: accountsOf.treasury,
            to: accountsOf.budget(a.proposalId),
            amount: a.amount,
            reason: 'proposal budget reserved (approved by the vote)',
            proposalId: a.proposalId,
          },
        ]);
      await tx`update proposals set budget_reserved = ${a.amount} where id = ${a.proposalId}`;
      return { reserved: a.amount };
    });
  } catch (err) {
    if ((err as { constraint_name?: string }).constraint_name === 'balances_non_negative')
      throw new InsufficientFundsError(accountsOf.treasury, 'OPEN', a.amount);
    throw err;
  }
}

export interface BudgetPayment {
  proposalId: string;
  to: string;
  /** What the payment would be if the budget has it; less (or nothing) is paid when it has not. */
  amount: string;
  /** Same key, same payment: a retry pays once. */
  idempotencyKey: string;
  reason: string;
  memo?: Record<string, unknown>;
}

/**
 * Pays for a proposal out of its reserved budget: at most what is left, never failing for funds.
 * A proposal without a reservation has an empty budget account and pays nothing. Returns what was
 * paid (a retry answers the same).
 */
export async function payFromBudget(ledger: Ledger, p: BudgetPayment): Promise<{ paid: string }> {
  if (BigInt(p.amount) === 0n) return { paid: '0' };
  const r = await ledger.transferUpTo({
    idempotencyKey: p.idempotencyKey,
    asset: 'OPEN',
    from: accountsOf.budget(p.proposalId),
    to: p.to,
    amount: p.amount,
    reason: p.reason,
    proposalId: p.proposalId,
    memo: p.memo,
  });
  return { paid: r.moved };
}

/** Returns what is left of the proposal's budget to the treasury, once. */
export async function releaseBudget(ledger: Ledger, proposalId: string): Promise<{ returned: string }> {
  const r = await ledger.transferUpTo({
    idempotencyKey: budgetKeys.release(proposalId),
    asset: 'OPEN',
    from: accountsOf.budget(proposalId),
    to: accountsOf.treasury,
    amount: 'all',
    reason: 'unused proposal budget returned',
    proposalId,
  });
  return { returned: r.moved };
}

/**
 * What has left a proposal's budget account (paid out, returned) and what is left in it, as a
 * one-row subquery for `cross join lateral` (one index scan of the account's transfers and one
 * balance row): budgetOf and the status read (db/queries/status-reads.ts) share it.
 */
export function budgetFlows(sql: postgres.Sql, proposalId: string): postgres.PendingQuery<postgres.Row[]> {
  const account = accountsOf.budget(proposalId);
  const release = budgetKeys.release(proposalId);
  return sql`(select
      coalesce(sum(amount) filter (where idempotency_key <> ${release}), 0)::text as paid,
      coalesce(sum(amount) filter (where idempotency_key = ${release}), 0)::text as returned,
      coalesce((select amount from balances where account = ${account} and asset = 'OPEN'), 0)::text as "left"
    from transfers where from_account = ${account})`;
}

export interface BudgetRead {
  asked: string | null;
  reserved: string | null;
  paid: string;
  left: string;
  returned: string;
}

/** A proposal's budget: asked, reserved at pass time, paid out so far and left. */
export async function budgetOf(sql: postgres.Sql, proposalId: string): Promise<BudgetRead | undefined> {
  const [row] = await sql<
    { budget: string | null; budget_reserved: string | null; paid: string; returned: string; left: string }[]
  >`
    select p.budget::text, p.budget_reserved::text, f.paid, f.returned, f."left"
    from proposals p cross join lateral ${budgetFlows(sql, proposalId)} f where p.id = ${proposalId}`;
  return (
    row && { asked: row.budget, reserved: row.budget_reserved, paid: row.paid, left: row.left, returned: row.returned }
  );
}
