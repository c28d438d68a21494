/**
 * Validator stake: slashing and unstaking with an unbonding period. Unstaked OPEN leaves
 * stake:validator:<address> for unbonding:validator:<address>, where it still answers for the
 * validator's past reviews (a penalty takes from the stake first, then from what is unbonding),
 * and only after `staking.unbondingPeriodMs` (a protocol setting) can its owner claim it. So
 * unstaking never dodges a penalty for a round that is still being settled.
 */
import type postgres from 'postgres';
import { accountsOf } from '../contracts/accounts.js';
import { InsufficientFundsError, lockBalances, postTransfers, type Ledger } from './ledger.js';

export interface UnbondingEntry {
  id: number;
  amount: string;
  availableAt: Date;
  status: 'unbonding' | 'claimed';
}

/** Slashes up to `amount` from the validator's stake, then from its unbonding stake, to the treasury. */
export async function slashValidator(
  ledger: Ledger,
  a: { validator: string; amount: string; idempotencyKey: string; reason: string; proposalId?: string },
): Promise<{ slashed: string }> {
  const common = { asset: 'OPEN' as const, to: accountsOf.treasury, reason: a.reason, proposalId: a.proposalId };
  const staked = await ledger.transferUpTo({
    ...common,
    idempotencyKey: a.idempotencyKey,
    from: accountsOf.validatorStake(a.validator),
    amount: a.amount,
  });
  const rest = BigInt(a.amount) - BigInt(staked.moved);
  if (rest <= 0n) return { slashed: staked.moved };
  const unbonding = await ledger.transferUpTo({
    ...common,
    idempotencyKey: `${a.idempotencyKey}:unbonding`,
    from: accountsOf.unbonding(a.validator),
    amount: rest.toString(),
  });
  return { slashed: (BigInt(staked.moved) + BigInt(unbonding.moved)).toString() };
}

/** The bond is locked by review rounds that have not settled. */
export class StakeLockedError extends Error {
  constructor(
    readonly address: string,
    readonly rounds: { proposalId: string; round: number }[],
  ) {
    super(
      `stake of ${address} is locked until ${rounds.map((r) => `round ${r.round} of proposal ${r.proposalId}`).join(', ')} settles`,
    );
    this.name = 'StakeLockedError';
  }
}

/**
 * Unsettled review rounds that hold the address's bond: it is in the pool a round recorded when
 * enlistment closed (until the round reveals its seed, after its penalties, or its lifecycle ends),
 * or assigned a task still pending or open (rounds started before the committed seed).
 */
async function lockingRounds(
  tx: postgres.TransactionSql,
  address: string,
): Promise<{ proposalId: string; round: number }[]> {
  const rows = await tx<{ proposal_id: string; round: number }[]>`
    select proposal_id, round from review_round_seeds
    where revealed_at is null and pool @> ${tx.json([{ reviewer: address }])}
    union
    select t.proposal_id, t.round from review_assignments a join review_tasks t on t.id = a.task_id
    where a.reviewer = ${address} and t.status in ('pending', 'open')
    order by 1, 2 limit 5`;
  return rows.map((r) => ({ proposalId: r.proposal_id, round: r.round }));
}

interface EntryRow {
  id: string;
  amount: string;
  available_at: Date;
  status: 'unbonding' | 'claimed';
}
const toEntry = (r: EntryRow): UnbondingEntry => ({
  id: Number(r.id),
  amount: r.amount,
  availableAt: r.available_at,
  status: r.status,
});

/**
 * Starts unbonding `amount` of the validator's stake: one transaction moves it to the unbonding
 * account and records when it becomes claimable (the database clock + the period). The same key
 * answers the same entry. Throws InsufficientFundsError when the stake is smaller, StakeLockedError
 * while a review round holds it.
 */
export async function unstake(
  sql: postgres.Sql,
  a: { address: string; amount: string; idempotencyKey: string; unbondingPeriodMs: number },
): Promise<UnbondingEntry> {
  try {
    return await sql.begin(async (tx) => {
      const [done] = await tx<EntryRow[]>`
        select id, amount::text, available_at, status from unbondings where idempotency_key = ${a.idempotencyKey}`;
      if (done) return toEntry(done);
      await postTransfers(tx, [
        {
          idempotencyKey: `unstake:${a.idempotencyKey}`,
          asset: 'OPEN',
          from: accountsOf.validatorStake(a.address),
          to: accountsOf.unbonding(a.address),
          amount: a.amount,
          reason: 'validator stake unbonding',
        },
      ]);
      // Checked with the bond's balance row locked by the transfer above: a round recording its pool
      // locks the same row, so either it saw this unstake or this sees its pool.
      const locked = await lockingRounds(tx, a.address);
      if (locked.length > 0) throw new StakeLockedError(a.address, locked);
      const [row] = await tx<EntryRow[]>`
        insert into unbondings (idempotency_key, address, amount, available_at)
        values (${a.idempotencyKey}, ${a.address}, ${a.amount}, now() + ${a.unbondingPeriodMs} * interval '1 millisecond')
        returning id, amount::text, available_at, status`;
      return toEntry(row!);
    });
  } catch (err) {
    if ((err as { constraint_name?: string }).constraint_name === 'balances_non_negative')
      throw new InsufficientFundsError(accountsOf.validatorStake(a.address), 'OPEN', a.amount);
    throw err;
  }
}

/**
 * Pays out every unbonding entry of the validator whose period is over, in one transaction:
 * each entry pays what is left of it after any slash (never more than the unbonding account
 * holds) and is marked claimed. Entries still unbonding stay, and so does everything while a review
 * round holds the validator's stake (`lockedBy` names the rounds): a penalty it settles may still
 * need what is unbonding. Retrying claims nothing twice.
 */
export async function claimUnbonded(
  sql: postgres.Sql,
  address: string,
): Promise<{
  claimed: string;
  entries: UnbondingEntry[];
  pending: UnbondingEntry[];
  lockedBy: { proposalId: string; round: number }[];
}> {
  return sql.begin(async (tx) => {
    const account = accountsOf.unbonding(address);
    let held = (await lockBalances(tx, 'OPEN', [account, address])).get(account) ?? 0n;
    const lockedBy = await lockingRounds(tx, address);
    if (lockedBy.length > 0) {
      const pending = await tx<EntryRow[]>`
        select id, amount::text, available_at, status from unbondings where address = ${address} and status = 'unbonding' order by available_at`;
      return { claimed: '0', entries: [], pending: pending.map(toEntry), lockedBy };
    }
    const ready = await tx<EntryRow[]>`
      select id, amount::text, available_at, status from unbondings
      where address = ${address} and status = 'unbonding' and available_at <= now() order by id for update`;
    let claimed = 0n;
    const transfers = [];
    for (const r of ready) {
      const amount = BigInt(r.amount) < held ? BigInt(r.amount) : held;
      held -= amount;
      claimed += amount;
      if (amount > 0n)
        transfers.push({
          idempotencyKey: `unbonding:${r.id}:claim`,
          asset: 'OPEN' as const,
          from: account,
          to: address,
          amount: amount.toString(),
          reason: 'unbonded validator stake claimed',
        });
    }
    await postTransfers(tx, transfers);
    if (ready.length)
      await tx`update unbondings set status = 'claimed', claimed_at = now() where id in ${tx(ready.map((r) => r.id))}`;
    const pending = await tx<EntryRow[]>`
      select id, amount::text, available_at, status from unbondings where address = ${address} and status = 'unbonding' order by available_at`;
    return {
      claimed: claimed.toString(),
      entries: ready.map((r) => toEntry({ ...r, status: 'claimed' })),
      pending: pending.map(toEntry),
      lockedBy,
    };
  });
}

/** The validator's unbonding entries, newest first. */
/** A page of a validator's unbonding entries, newest first, after the entry id `page.after`. */
export async function listUnbonding(
  sql: postgres.Sql,
  address: string,
  page: { limit: number; after?: number },
): Promise<UnbondingEntry[]> {
  const rows = await sql<EntryRow[]>`
    select id, amount::text, available_at, status from unbondings where address = ${address}
      and (${page.after ?? null}::bigint is null or id < ${page.after ?? null}::bigint)
    order by id desc limit ${page.limit}`;
  return rows.map(toEntry);
}
