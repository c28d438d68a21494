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

/**
 * What an account earned, newest first (at most 1000): transfers to it except mints, stake
 * refunds and stake returns.
 */
export async function listRewards(sql: postgres.Sql, address: string): Promise<Reward[]> {
  const rows = await sql<
    {
      amount: string;
      asset: string;
      reason: string;
      proposal_id: string | null;
      from_account: string;
      memo: unknown;
      created_at: Date;
    }[]
  >`
    select amount, asset, reason, proposal_id, from_account, memo, created_at from transfers
    where to_account = ${address} and from_account not like 'issuer:%' and reason not like 'stake refunded%' and reason <> 'stake returned after deployment'
    order by id desc limit 1000`;
  return rows.map((r) => ({
    amount: String(r.amount),
    asset: r.asset,
    reason: r.reason,
    proposalId: r.proposal_id,
    from: r.from_account,
    memo: r.memo,
    createdAt: r.created_at,
  }));
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
