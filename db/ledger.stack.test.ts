import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Ledger,
  InsufficientFundsError,
  lockBalances,
  postTransfersOnLockedBalances,
  type TransferInput,
} from './ledger.js';
import { accountsOf } from '../contracts/accounts.js';

describe('double-entry ledger on Postgres', () => {
  let sql: postgres.Sql;
  let ledger: Ledger;
  const run = Date.now().toString(36);
  const alice = `cm-alice-${run}`;
  const bob = `cm-bob-${run}`;

  beforeAll(() => {
    sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
    ledger = new Ledger(sql);
  });
  afterAll(async () => {
    expect((await ledger.checkInvariants()).problems).toEqual([]);
    await sql.end();
  });

  it('mints, transfers and refuses to overdraw, moving nothing on refusal', async () => {
    await ledger.mint(alice, 'OPEN', '100', `mint:${alice}`);
    await ledger.transfer({
      idempotencyKey: `t1:${run}`,
      asset: 'OPEN',
      from: alice,
      to: bob,
      amount: '30',
      reason: 'test',
    });
    expect(await ledger.balance(alice, 'OPEN')).toBe('70');
    expect(await ledger.balance(bob, 'OPEN')).toBe('30');
    await expect(
      ledger.transfer({
        idempotencyKey: `t2:${run}`,
        asset: 'OPEN',
        from: bob,
        to: alice,
        amount: '31',
        reason: 'test',
      }),
    ).rejects.toBeInstanceOf(InsufficientFundsError);
    expect(await ledger.balance(bob, 'OPEN')).toBe('30');
    const rows = await sql`select count(*)::int as n from transfers where idempotency_key = ${`t2:${run}`}`;
    expect([...rows]).toEqual([{ n: 0 }]);
  });

  it('moves money once however often a transfer is retried, even concurrently', async () => {
    const key = `retry:${run}`;
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        ledger.transfer({ idempotencyKey: key, asset: 'OPEN', from: alice, to: bob, amount: '5', reason: 'retried' }),
      ),
    );
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    expect(await ledger.balance(alice, 'OPEN')).toBe('65');
    expect(await ledger.balance(bob, 'OPEN')).toBe('35');
  });

  it('refuses to reuse an idempotency key for a different transfer', async () => {
    await expect(
      ledger.transfer({
        idempotencyKey: `retry:${run}`,
        asset: 'OPEN',
        from: alice,
        to: bob,
        amount: '6',
        reason: 'other',
      }),
    ).rejects.toThrow(/different transfer/);
  });

  it('keeps balances consistent under concurrent opposite transfers (no deadlock, no drift)', async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? ledger.transfer({
              idempotencyKey: `c:${run}:${i}`,
              asset: 'OPEN',
              from: alice,
              to: bob,
              amount: '1',
              reason: 'c',
            })
          : ledger.transfer({
              idempotencyKey: `c:${run}:${i}`,
              asset: 'OPEN',
              from: bob,
              to: alice,
              amount: '1',
              reason: 'c',
            }),
      ),
    );
    expect(await ledger.balance(alice, 'OPEN')).toBe('65');
    expect(await ledger.balance(bob, 'OPEN')).toBe('35');
  });

  it('applies a batch in one transaction and isolates a payer who cannot pay', async () => {
    const poor = `cm-poor-${run}`;
    await ledger.mint(poor, 'OPEN', '3', `mint:${poor}`);
    const r = await ledger.transferMany([
      {
        idempotencyKey: `b:${run}:1`,
        asset: 'OPEN',
        from: alice,
        to: accountsOf.treasury,
        amount: '10',
        reason: 'batch',
      },
      {
        idempotencyKey: `b:${run}:2`,
        asset: 'OPEN',
        from: poor,
        to: accountsOf.treasury,
        amount: '5',
        reason: 'batch',
      },
      { idempotencyKey: `b:${run}:3`, asset: 'OPEN', from: bob, to: alice, amount: '5', reason: 'batch' },
    ]);
    expect(r.applied).toBe(2);
    expect(r.failed.map((f) => f.transfer.idempotencyKey)).toEqual([`b:${run}:2`]);
    expect(await ledger.balance(poor, 'OPEN')).toBe('3');
    expect(await ledger.balance(alice, 'OPEN')).toBe('60');
    const again = await ledger.transferMany([
      {
        idempotencyKey: `b:${run}:1`,
        asset: 'OPEN',
        from: alice,
        to: accountsOf.treasury,
        amount: '10',
        reason: 'batch',
      },
    ]);
    expect(again.applied).toBe(0);
    expect(await ledger.balance(alice, 'OPEN')).toBe('60');
  });

  it('posts transfers on locked balances in one statement: both sides move, a used key moves nothing', async () => {
    const payer = `cm-locked-payer-${run}`;
    const to1 = `cm-locked-to1-${run}`;
    const to2 = `cm-locked-to2-${run}`;
    await ledger.mint(payer, 'OPEN', '100', `mint:${payer}`);
    const t = (k: string, to: string, amount: string) => ({
      idempotencyKey: `locked:${run}:${k}`,
      asset: 'OPEN' as const,
      from: payer,
      to,
      amount,
      reason: 'locked batch',
    });
    const post = (ts: TransferInput[]) =>
      sql.begin(async (tx) => {
        await lockBalances(tx, 'OPEN', [payer, to1, to2]);
        return postTransfersOnLockedBalances(tx, ts);
      });
    expect(await post([t('a', to1, '7'), t('b', to2, '3'), t('c', to1, '5')])).toBe(3);
    expect(await ledger.balance(payer, 'OPEN')).toBe('85');
    expect(await ledger.balance(to1, 'OPEN')).toBe('12');
    expect(await ledger.balance(to2, 'OPEN')).toBe('3');
    // A retry of the same keys (one new): only the new one moves money.
    expect(await post([t('a', to1, '7'), t('d', to2, '1')])).toBe(1);
    expect(await ledger.balance(payer, 'OPEN')).toBe('84');
    expect(await ledger.balance(to2, 'OPEN')).toBe('4');
    // More than the payer holds: the check constraint refuses the statement, nothing is written.
    await expect(post([t('e', to1, '1'), t('f', to2, '1000')])).rejects.toThrow();
    expect(await ledger.balance(payer, 'OPEN')).toBe('84');
    const rows = await sql`select count(*)::int as n from transfers where idempotency_key like ${`locked:${run}:%`}`;
    expect([...rows]).toEqual([{ n: 4 }]);
    // Every field arrives as sent (the batch goes as one JSON document): no memo or proposal is SQL
    // NULL, not JSON null; a memo is stored as the object it was.
    expect(
      await post([{ ...t('g', to1, '2'), proposalId: `p-${run}`, memo: { calls: 3, note: 'a "quoted" \\ memo' } }]),
    ).toBe(1);
    const stored = await sql<
      { key: string; amount: string; reason: string; proposal_id: string | null; memo: unknown; memo_null: boolean }[]
    >`
      select idempotency_key as key, amount::text, reason, proposal_id, memo, memo is null as memo_null
      from transfers where idempotency_key in (${`locked:${run}:a`}, ${`locked:${run}:g`}) order by idempotency_key`;
    expect([...stored]).toEqual([
      { key: `locked:${run}:a`, amount: '7', reason: 'locked batch', proposal_id: null, memo: null, memo_null: true },
      {
        key: `locked:${run}:g`,
        amount: '2',
        reason: 'locked batch',
        proposal_id: `p-${run}`,
        memo: { calls: 3, note: 'a "quoted" \\ memo' },
        memo_null: false,
      },
    ]);
  });

  it('refuses to post on a balance row that was never locked (created) in the transaction', async () => {
    const payer = `cm-unlocked-payer-${run}`;
    const nobody = `cm-never-locked-${run}`;
    await ledger.mint(payer, 'OPEN', '10', `mint:${payer}`);
    await expect(
      sql.begin(async (tx) => {
        await lockBalances(tx, 'OPEN', [payer]);
        return postTransfersOnLockedBalances(tx, [
          { idempotencyKey: `unlocked:${run}`, asset: 'OPEN', from: payer, to: nobody, amount: '4', reason: 'x' },
        ]);
      }),
    ).rejects.toThrow(/balance row\(s\) missing/);
    expect(await ledger.balance(payer, 'OPEN')).toBe('10');
    const rows = await sql`select count(*)::int as n from transfers where idempotency_key = ${`unlocked:${run}`}`;
    expect([...rows]).toEqual([{ n: 0 }]);
  });

  it('detects a balance that drifted from its transfers', async () => {
    const ghost = `cm-ghost-${run}`;
    await sql`insert into balances (account, asset, amount) values (${ghost}, 'OPEN', 7)`;
    const inv = await ledger.checkInvariants();
    expect(inv.ok).toBe(false);
    expect(inv.problems.join('\n')).toContain(ghost);
    await sql`delete from balances where account = ${ghost}`;
  });
});
