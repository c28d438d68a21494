import type postgres from 'postgres';

/** Ledger transfers as earnings (the ledger itself writes them: db/ledger.ts). */

export interface Reward {
  amount: string;
  asset: string;
  reason: string;
  proposalId: string | null;
  from: string;
  memo: unknown;
  createdAt: Date;
}

// Earnings are transfers to the account except mints, stake refunds and stake returns.
const EARNING = (sql: postgres.Sql, address: string) =>
  sql`to_account = ${address} and from_account not like 'issuer:%' and reason not like 'stake refunded%' and reason <> 'stake returned after deployment'`;

/** A page of what an account earned, newest first, after the transfer id `after`. */
export async function listRewards(
  sql: postgres.Sql,
  address: string,
  page: { limit: number; after?: number },
): Promise<(Reward & { id: number })[]> {
  const rows = await sql<
    {
      id: string;
      amount: string;
      asset: string;
      reason: string;
      proposal_id: string | null;
      from_account: string;
      memo: unknown;
      created_at: Date;
    }[]
  >`
    select id, amount, asset, reason, proposal_id, from_account, memo, created_at from transfers
    where ${EARNING(sql, address)} and (${page.after ?? null}::bigint is null or id < ${page.after ?? null}::bigint)
    order by id desc limit ${page.limit}`;
  return rows.map((r) => ({
    id: Number(r.id),
    amount: String(r.amount),
    asset: r.asset,
    reason: r.reason,
    proposalId: r.proposal_id,
    from: r.from_account,
    memo: r.memo,
    createdAt: r.created_at,
  }));
}

/** What an account earned in all, per asset. */
export async function rewardTotals(sql: postgres.Sql, address: string): Promise<Record<string, string>> {
  const rows = await sql<{ asset: string; total: string }[]>`
    select asset, sum(amount)::text as total from transfers where ${EARNING(sql, address)} group by asset`;
  return Object.fromEntries(rows.map((r) => [r.asset, r.total]));
}

/** The reason a transfer was recorded with (an idempotent retry must ask for the same one). */
export async function findTransferReason(sql: postgres.Sql, id: number): Promise<string | undefined> {
  const [row] = await sql<{ reason: string }[]>`select reason from transfers where id = ${id}`;
  return row?.reason;
}

/** The transfer recorded under an idempotency key, if any (what a keyed move already moved). */
export async function findTransferByKey(
  sql: postgres.Sql,
  idempotencyKey: string,
): Promise<{ amount: string; from: string } | undefined> {
  const [t] = await sql<
    { amount: string; from_account: string }[]
  >`select amount, from_account from transfers where idempotency_key = ${idempotencyKey}`;
  return t && { amount: String(t.amount), from: t.from_account };
}
