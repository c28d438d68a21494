import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeeGroupCommit, PaymentRefusedError, type PaidCall } from './group-commit.js';
import { Ledger } from '../../db/ledger.js';
import { accountsOf } from '../../contracts/accounts.js';

// The fee group commit on the real Postgres: its transaction runs on a reserved connection in
// three round trips (begin with the locks; rows and transfers; commit), so these check that a
// batch is all or nothing and that the connection goes back to the pool clean either way.
describe('fee group commit', () => {
  let sql: postgres.Sql;
  let ledger: Ledger;
  const run = Date.now().toString(36);
  const payer = `cm-gc-payer-${run}`;
  const dev = `cm-gc-dev-${run}`;
  const contributor = `cm-gc-contrib-${run}`;

  const call = (callId: string, fee = 10n): PaidCall => ({
    callId,
    modelName: `gc-model-${run}`,
    version: 1,
    proposalId: `gc-proposal-${run}`,
    apiKeyId: `gc-key-${run}`,
    payer,
    fee,
    splits: [
      { to: dev, amount: (fee * 6n) / 10n, part: 'developer' },
      { to: contributor, amount: (fee * 3n) / 10n, part: 'contributors' },
      { to: accountsOf.treasury, amount: fee - (fee * 6n) / 10n - (fee * 3n) / 10n, part: 'treasury' },
    ],
    attribution: [{ contributor, weight: 1 }],
  });
  const rowsOf = async (ids: string[]) =>
    (await sql<{ n: number }[]>`select count(*)::int as n from inference_calls where id = any(${ids}::text[])`)[0]!.n;

  beforeAll(async () => {
    // Few connections, so a connection left inside a transaction would be reused and show.
    sql = postgres(process.env.DATABASE_URL!, { max: 2, onnotice: () => {} });
    ledger = new Ledger(sql);
    await ledger.mint(payer, 'OPEN', '1000', `mint:${payer}`);
  });
  afterAll(async () => {
    expect((await ledger.checkInvariants()).problems).toEqual([]);
    await sql.end();
  });

  it('commits a batch: every row and every part of every fee, once', async () => {
    const fees = new FeeGroupCommit(sql, { maxDelayMs: 20 });
    const ids = Array.from({ length: 10 }, (_, i) => `gc-ok-${run}-${i}`);
    await Promise.all(ids.map((id) => fees.charge(call(id))));
    await fees.close();
    expect(await rowsOf(ids)).toBe(10);
    expect(await ledger.balance(payer, 'OPEN')).toBe('900');
    expect(await ledger.balance(dev, 'OPEN')).toBe('60');
    expect(await ledger.balance(contributor, 'OPEN')).toBe('30');
  });

  it('writes nothing of a batch whose row insert fails, and the next batch on the same connections commits', async () => {
    const fees = new FeeGroupCommit(sql, { maxDelayMs: 20 });
    const before = await ledger.balance(payer, 'OPEN');
    // A call id already recorded: the batch's row insert violates the primary key.
    const ids = [`gc-ok-${run}-0`, ...Array.from({ length: 4 }, (_, i) => `gc-dup-${run}-${i}`)];
    const results = await Promise.allSettled(ids.map((id) => fees.charge(call(id))));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(await rowsOf(ids.slice(1))).toBe(0);
    expect(await ledger.balance(payer, 'OPEN')).toBe(before);
    // Both pool connections serve later batches outside any leftover transaction.
    const next = Array.from({ length: 6 }, (_, i) => `gc-after-${run}-${i}`);
    await Promise.all(next.map((id) => fees.charge(call(id))));
    await fees.close();
    expect(await rowsOf(next)).toBe(6);
    expect(await ledger.balance(payer, 'OPEN')).toBe(String(BigInt(before) - 60n));
    const [open] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity where state like 'idle in transaction%' and datname = current_database()`;
    expect(open!.n).toBe(0);
  });

  it('refuses the calls a payer cannot cover and commits the rest of the batch', async () => {
    const fees = new FeeGroupCommit(sql, { maxDelayMs: 20 });
    const left = BigInt(await ledger.balance(payer, 'OPEN'));
    const big = call(`gc-big-${run}`, left);
    const small = call(`gc-small-${run}`, 10n);
    const [a, b] = await Promise.allSettled([fees.charge(small), fees.charge(big)]);
    await fees.close();
    expect(a.status).toBe('fulfilled');
    expect(b.status === 'rejected' && b.reason instanceof PaymentRefusedError).toBe(true);
    expect(await rowsOf([small.callId, big.callId])).toBe(1);
    expect(await ledger.balance(payer, 'OPEN')).toBe(String(left - 10n));
  });
});
