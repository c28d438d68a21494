import type postgres from 'postgres';

import { accountsOf, type Asset } from '../contracts/accounts.js';

export class InsufficientFundsError extends Error {
  override readonly name = 'InsufficientFundsError';
  constructor(
    readonly account: string,
    readonly asset: string,
    readonly needed: string,
  ) {
    super(`account ${account} has insufficient ${asset} balance for a transfer of ${needed}`);
  }
}

/** An idempotency key already used for a transfer with other terms (asset, accounts or amount). */
export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
  constructor(readonly idempotencyKey: string) {
    super(`idempotency key ${idempotencyKey} was already used for a different transfer`);
  }
}

export interface TransferInput {
  /** The same key always means the same transfer: a retry moves money once. */
  idempotencyKey: string;
  asset: Asset;
  from: string;
  to: string;
  /** Integer base units, as a decimal string. */
  amount: string;
  reason: string;
  proposalId?: string;
  memo?: Record<string, unknown>;
}

export interface TransferResult {
  id: number;
  /** False when the key had already been used: nothing moved this time. */
  applied: boolean;
}

const DECIMAL = /^\d+$/;

/**
 * Double-entry ledger on Postgres. A transfer inserts its row (unique idempotency key) and moves
 * both balances in one transaction; the balance check constraint refuses any negative balance.
 */
export class Ledger {
  constructor(private readonly sql: postgres.Sql) {}

  async transfer(t: TransferInput): Promise<TransferResult> {
    if (!DECIMAL.test(t.amount) || BigInt(t.amount) <= 0n)
      throw new Error(`transfer amount must be a positive integer, got ${t.amount}`);
    if (t.from === t.to) throw new Error('transfer to the same account');
    try {
      return await this.sql.begin(async (tx) => {
        const [inserted] = await tx<{ id: string }[]>`
          insert into transfers (idempotency_key, asset, from_account, to_account, amount, reason, proposal_id, memo)
          values (${t.idempotencyKey}, ${t.asset}, ${t.from}, ${t.to}, ${t.amount}, ${t.reason}, ${t.proposalId ?? null}, ${t.memo ? tx.json(t.memo as never) : null})
          on conflict (idempotency_key) do nothing
          returning id`;
        if (!inserted) {
          const [existing] = await tx<
            { id: string; asset: string; from_account: string; to_account: string; amount: string }[]
          >`select id, asset, from_account, to_account, amount from transfers where idempotency_key = ${t.idempotencyKey}`;
          if (!existing) throw new Error(`idempotency key ${t.idempotencyKey} conflicted but its transfer is gone`);
          if (
            existing.asset !== t.asset ||
            existing.from_account !== t.from ||
            existing.to_account !== t.to ||
            existing.amount !== t.amount
          ) {
            throw new IdempotencyKeyReusedError(t.idempotencyKey);
          }
          return { id: Number(existing.id), applied: false };
        }
        // Lock both rows in the ledger's lock order (byte order of the account) so concurrent writers cannot deadlock.
        for (const acct of [t.from, t.to].sort()) {
          await tx`insert into balances (account, asset, amount) values (${acct}, ${t.asset}, 0) on conflict do nothing`;
          await tx`select 1 from balances where account = ${acct} and asset = ${t.asset} for update`;
        }
        await tx`update balances set amount = amount - ${t.amount} where account = ${t.from} and asset = ${t.asset}`;
        await tx`update balances set amount = amount + ${t.amount} where account = ${t.to} and asset = ${t.asset}`;
        return { id: Number(inserted.id), applied: true };
      });
    } catch (err) {
      if ((err as { constraint_name?: string }).constraint_name === 'balances_non_negative')
        throw new InsufficientFundsError(t.from, t.asset, t.amount);
      throw err;
    }
  }

  /**
   * Many transfers in one transaction (inference fee splits are flushed this way): rows inserted
   * with their keys, then one balance update per account. If any balance would go negative the
   * whole batch is retried transfer by transfer so only the offending ones fail.
   */
  async transferMany(
    ts: TransferInput[],
  ): Promise<{ applied: number; failed: { transfer: TransferInput; error: Error }[] }> {
    if (ts.length === 0) return { applied: 0, failed: [] };
    for (const t of ts)
      if (!DECIMAL.test(t.amount) || BigInt(t.amount) <= 0n || t.from === t.to)
        throw new Error(`invalid transfer ${t.idempotencyKey}`);
    try {
      const applied = await this.sql.begin((tx) => postTransfers(tx, ts));
      return { applied, failed: [] };
    } catch (err) {
      if ((err as { constraint_name?: string }).constraint_name !== 'balances_non_negative') throw err;
      let applied = 0;
      const failed: { transfer: TransferInput; error: Error }[] = [];
      for (const t of ts) {
        try {
          if ((await this.transfer(t)).applied) applied++;
        } catch (e) {
          failed.push({ transfer: t, error: e as Error });
        }
      }
      return { applied, failed };
    }
  }

  /**
   * Moves what `from` holds, up to `amount` (all of it when `amount` is `'all'`), in one
   * transaction that locks the balance first, so concurrent payers from one account can never
   * run it short or fail for funds. Idempotent: a retry with the same key answers what the first
   * call moved. Nothing to move: nothing is written (and `moved` is '0').
   */
  async transferUpTo(
    t: Omit<TransferInput, 'amount'> & { amount: string },
  ): Promise<{ moved: string; applied: boolean }> {
    if (t.amount !== 'all' && !DECIMAL.test(t.amount))
      throw new Error(`transfer amount must be an integer, got ${t.amount}`);
    if (t.from === t.to) throw new Error('transfer to the same account');
    const existing = async (tx: postgres.TransactionSql) => {
      const [row] = await tx<{ amount: string; from_account: string; to_account: string; asset: string }[]>`
        select amount::text, from_account, to_account, asset from transfers where idempotency_key = ${t.idempotencyKey}`;
      if (row && (row.from_account !== t.from || row.to_account !== t.to || row.asset !== t.asset))
        throw new Error(`idempotency key ${t.idempotencyKey} was already used for a different transfer`);
      return row;
    };
    return this.sql.begin(async (tx) => {
      // Lock first, then look for the key: a call with the same key that held the locks has
      // committed by now, and this statement sees it (read committed), so both answer the same.
      const held = (await lockBalances(tx, t.asset, [t.from, t.to])).get(t.from) ?? 0n;
      const done = await existing(tx);
      if (done) return { moved: done.amount, applied: false };
      const want = t.amount === 'all' ? held : BigInt(t.amount);
      const amount = want < held ? want : held;
      if (amount <= 0n) return { moved: '0', applied: false };
      if ((await postTransfers(tx, [{ ...t, amount: amount.toString() }])) === 0) {
        // A concurrent call with the same key committed first (we waited on its locks): its amount stands.
        const row = await existing(tx);
        return { moved: row?.amount ?? '0', applied: false };
      }
      return { moved: amount.toString(), applied: true };
    });
  }

  /** Creates new units from the asset's issuer account (faucet, genesis). */
  mint(to: string, asset: Asset, amount: string, idempotencyKey: string, reason = 'mint'): Promise<TransferResult> {
    return this.transfer({ idempotencyKey, asset, from: accountsOf.issuer(asset), to, amount, reason });
  }

  async balance(account: string, asset: Asset): Promise<string> {
    const [row] = await this.sql`select amount from balances where account = ${account} and asset = ${asset}`;
    return row ? String(row.amount) : '0';
  }

  async balances(account: string): Promise<Record<Asset, string>> {
    const rows = await this.sql`select asset, amount from balances where account = ${account}`;
    const out: Record<Asset, string> = { OPEN: '0', gOPEN: '0' };
    for (const r of rows) out[r.asset as Asset] = String(r.amount);
    return out;
  }

  /**
   * The ledger's invariant: per asset, balances sum to zero (issuer accounts hold minus what was
   * minted), no non-issuer balance is negative, and every balance equals the net of its transfers.
   */
  async checkInvariants(): Promise<{ ok: boolean; problems: string[]; minted: Record<string, string> }> {
    const problems: string[] = [];
    const minted: Record<string, string> = {};
    const sums = await this.sql<{ asset: string; held: string | null; minted: string | null }[]>`
      select asset, sum(amount) filter (where account not like 'issuer:%') as held, -sum(amount) filter (where account like 'issuer:%') as minted
      from balances group by asset`;
    for (const r of sums) {
      minted[r.asset] = String(r.minted ?? '0');
      if (String(r.held ?? '0') !== String(r.minted ?? '0'))
        problems.push(`${r.asset}: held ${r.held} != minted ${r.minted}`);
    }
    const negative = await this
      .sql`select account, asset, amount from balances where amount < 0 and account not like 'issuer:%'`;
    for (const r of negative) problems.push(`${r.account} ${r.asset} is negative: ${r.amount}`);
    const drift = await this.sql`
      with net as (
        select account, asset, sum(delta) as amount from (
          select to_account as account, asset, amount as delta from transfers
          union all select from_account, asset, -amount from transfers) x group by account, asset)
      select b.account, b.asset, b.amount, coalesce(n.amount, 0) as net
      from balances b left join net n using (account, asset) where b.amount <> coalesce(n.amount, 0)`;
    for (const r of drift) problems.push(`${r.account} ${r.asset}: balance ${r.amount} != net transfers ${r.net}`);
    return { ok: problems.length === 0, problems, minted };
  }
}

/**
 * Transaction control on a reserved connection, for a writer that pipelines its statements with
 * BEGIN instead of waiting for it (the inference group commit): each returns the pending statement.
 */
export const reservedTransaction = {
  begin: (c: postgres.ReservedSql) => c`begin`,
  commit: (c: postgres.ReservedSql) => c`commit`,
  rollback: (c: postgres.ReservedSql) => c`rollback`,
};

/**
 * Inside an open transaction: creates any missing balance row of `accounts` for `asset` and locks
 * them all, in the ledger's lock order (byte order of the account, as `transfer` sorts), so every
 * writer takes its locks in the same order and none deadlocks. Returns the locked balances.
 */
export async function lockBalances(
  tx: postgres.TransactionSql | postgres.ReservedSql,
  asset: Asset,
  accounts: string[],
): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  if (accounts.length === 0) return out;
  const accts = [...new Set(accounts)].sort();
  // Both statements go out together (pipelined on the transaction's connection, run in order):
  // one round trip instead of two.
  const [, rows] = await Promise.all([
    tx`
    insert into balances (account, asset, amount) select a, ${asset}, 0 from unnest(${accts}::text[]) as u(a)
    order by a collate "C" on conflict do nothing`,
    tx<{ account: string; amount: string }[]>`
    select account, amount::text from balances where asset = ${asset} and account = any(${accts}::text[])
    order by account collate "C" for update`,
  ]);
  for (const r of rows) out.set(r.account, BigInt(r.amount));
  return out;
}

/**
 * postTransfers for a transaction that already holds the lock on every balance row these transfers
 * touch (lockBalances created and locked them, in the ledger's lock order): the transfers and their
 * net balance changes go out as ONE statement (one round trip) and take no further lock, so they
 * cannot deadlock. A transfer whose key was already used is skipped and moves nothing. Throws when a
 * balance row is missing (it was not locked first), so a transfer can never move one side only; the
 * check constraint still refuses any negative balance. Returns how many transfers were inserted.
 */
export async function postTransfersOnLockedBalances(
  tx: postgres.TransactionSql | postgres.ReservedSql,
  ts: TransferInput[],
): Promise<number> {
  if (ts.length === 0) return 0;
  for (const t of ts)
    if (!DECIMAL.test(t.amount) || BigInt(t.amount) <= 0n || t.from === t.to)
      throw new Error(`invalid transfer ${t.idempotencyKey}`);
  // Data-modifying CTEs run exactly once whatever the outer select reads; `d` sees only the rows
  // this statement inserted (RETURNING), so a skipped duplicate moves nothing.
  // The transfers go as one JSON document (sent as text, read by jsonb_to_recordset): one native
  // JSON.stringify instead of eight Postgres arrays escaped element by element by the client.
  const doc = JSON.stringify(
    ts.map((t) => ({
      k: t.idempotencyKey,
      a: t.asset,
      f: t.from,
      t: t.to,
      amt: t.amount,
      r: t.reason,
      p: t.proposalId ?? null,
      m: t.memo ?? null,
    })),
  );
  const [r] = await tx<{ inserted: number; accounts: number; updated: number }[]>`
    with t as (
      insert into transfers (idempotency_key, asset, from_account, to_account, amount, reason, proposal_id, memo)
      select k, a, f, t, amt, r, p, m from jsonb_to_recordset(${doc}::text::jsonb)
        as u(k text, a text, f text, t text, amt numeric, r text, p text, m jsonb)
      on conflict (idempotency_key) do nothing
      returning asset, from_account, to_account, amount),
    d as (
      select asset, account, sum(delta) as delta from (
        select asset, from_account as account, -amount as delta from t
        union all select asset, to_account, amount from t) x
      group by asset, account),
    u as (
      update balances b set amount = b.amount + d.delta from d
      where b.account = d.account and b.asset = d.asset returning 1)
    select (select count(*) from t)::int as inserted, (select count(*) from d)::int as accounts,
      (select count(*) from u)::int as updated`;
  if (!r) throw new Error('postTransfersOnLockedBalances: the statement returned no row');
  if (r.updated !== r.accounts)
    throw new Error(
      `postTransfersOnLockedBalances: ${r.accounts - r.updated} balance row(s) missing; lock them with lockBalances first`,
    );
  return r.inserted;
}

/**
 * Inside an open transaction: inserts the transfers (a key already used is skipped) and moves the
 * balances of the ones inserted, one update per account, after locking them in the ledger's order.
 * The balance check constraint still refuses any negative balance (the transaction then fails).
 */
export async function postTransfers(tx: postgres.TransactionSql, ts: TransferInput[]): Promise<number> {
  if (ts.length === 0) return 0;
  for (const t of ts)
    if (!DECIMAL.test(t.amount) || BigInt(t.amount) <= 0n || t.from === t.to)
      throw new Error(`invalid transfer ${t.idempotencyKey}`);
  const rows = await tx<{ idempotency_key: string }[]>`
    insert into transfers (idempotency_key, asset, from_account, to_account, amount, reason, proposal_id, memo)
    select k, a, f, t, amt, r, p, m::jsonb from unnest(${ts.map((t) => t.idempotencyKey)}::text[], ${ts.map((t) => t.asset)}::text[], ${ts.map((t) => t.from)}::text[], ${ts.map((t) => t.to)}::text[],
      ${ts.map((t) => t.amount)}::numeric[], ${ts.map((t) => t.reason)}::text[], ${ts.map((t) => t.proposalId ?? null)}::text[], ${ts.map((t) => (t.memo ? JSON.stringify(t.memo) : null))}::text[])
      as u(k, a, f, t, amt, r, p, m)
    on conflict (idempotency_key) do nothing returning idempotency_key`;
  const done = new Set(rows.map((r) => r.idempotency_key));
  // Net change per account, per asset.
  const delta = new Map<Asset, Map<string, bigint>>();
  const add = (account: string, asset: Asset, amount: bigint) => {
    const m = delta.get(asset) ?? new Map<string, bigint>();
    delta.set(asset, m);
    m.set(account, (m.get(account) ?? 0n) + amount);
  };
  for (const t of ts) {
    if (!done.has(t.idempotencyKey)) continue;
    add(t.from, t.asset, -BigInt(t.amount));
    add(t.to, t.asset, BigInt(t.amount));
  }
  for (const [asset, m] of [...delta].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const accts = [...m.keys()];
    await lockBalances(tx, asset, accts);
    await tx`
      update balances b set amount = b.amount + d.delta
      from (select * from unnest(${accts}::text[], ${accts.map((a) => (m.get(a) ?? 0n).toString())}::numeric[]) as x(account, delta)) d
      where b.account = d.account and b.asset = ${asset}`;
  }
  return done.size;
}
