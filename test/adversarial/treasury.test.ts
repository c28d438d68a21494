import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, refusal, type TestApp } from '../support/app.js';
import { participant, uniqueId } from '../support/participants.js';
import { accountsOf } from '../../contracts/accounts.js';
import { insertProposal } from '../../db/queries/proposals.js';
import { budgetOf, payFromBudget, releaseBudget, reserveBudget } from '../../db/budgets.js';
import { slashValidator, unstake } from '../../db/staking.js';
import { InsufficientFundsError } from '../../db/ledger.js';

/**
 * Attacks on the treasury and on staked money, on the real stack (Postgres ledger, the API):
 * settlements racing for the same funds, payouts beyond what governors approved, and stake
 * pulled out from under a penalty. Each must fail safe and leave the ledger whole.
 */
describe('adversarial: treasury reservations and unbonding', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ workers: false });
  });
  afterAll(async () => {
    const inv = await app.ledger.checkInvariants();
    expect(inv.problems).toEqual([]);
    await app?.close();
  });

  const proposalRow = (id: string, budget: string) =>
    insertProposal(app.sql, {
      id,
      proposer: 'adversary',
      modelName: `m-${id}`,
      title: 'treasury test',
      description: 'a proposal row for budget tests',
      rationale: '',
      domain: 'test',
      labels: ['a', 'b'],
      datanetSpec: {},
      params: {},
      stake: '100',
      budget,
      workflowId: `lifecycle-${id}`,
    });

  it('concurrent reservations and settlements never run the treasury or a budget short, and never fail for funds', async () => {
    // Top the treasury up, then ask for more than it holds across proposals reserving at once.
    await app.ledger.mint(accountsOf.treasury, 'OPEN', '50000', `mint:${uniqueId('treasury')}`);
    const held = BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'));
    const each = held / 4n + 1n; // at most 3 of the 8 fit
    const ids = Array.from({ length: 8 }, () => uniqueId('budget'));
    for (const id of ids) await proposalRow(id, each.toString());
    const reserved = await Promise.allSettled(
      ids.map((id) => reserveBudget(app.sql, { proposalId: id, amount: each.toString() })),
    );
    const ok = ids.filter((_, i) => reserved[i]!.status === 'fulfilled');
    expect(ok.length).toBe(3);
    for (const r of reserved) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(InsufficientFundsError);
    expect(BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'))).toBe(held - 3n * each);
    // A retried reservation reserves nothing more.
    await reserveBudget(app.sql, { proposalId: ok[0]!, amount: each.toString() });
    expect(BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'))).toBe(held - 3n * each);

    // Review rewards and a reward pool racing against each budget: 30 payments of a tenth each
    // (plus every one retried) — exactly the budget is paid, none fails, none is paid twice.
    const tenth = each / 10n;
    for (const id of ok) {
      const pays = Array.from({ length: 30 }, (_, i) => ({
        proposalId: id,
        to: `reviewer-${id}-${i % 7}`,
        amount: tenth.toString(),
        idempotencyKey: `review:${id}:${i}:reward`,
        reason: 'review reward (test)',
      }));
      const results = await Promise.all([...pays, ...pays].map((p) => payFromBudget(app.ledger, p)));
      const paid = results.slice(0, 30).reduce((s, r) => s + BigInt(r.paid), 0n);
      // Retries answer what the first call paid.
      expect(results.slice(30).map((r) => r.paid)).toEqual(results.slice(0, 30).map((r) => r.paid));
      expect(paid).toBe(each);
      expect(await app.ledger.balance(accountsOf.budget(id), 'OPEN')).toBe('0');
      const b = await budgetOf(app.sql, id);
      expect(b).toMatchObject({ reserved: each.toString(), paid: each.toString(), left: '0' });
    }
    // A proposal whose reservation failed has no budget: it pays nothing from anyone's.
    const refused = ids.find((id) => !ok.includes(id))!;
    expect(await budgetOf(app.sql, refused)).toMatchObject({ reserved: null, paid: '0' });
  });

  it('nothing paid for a proposal exceeds its budget, and what is left returns to the treasury once', async () => {
    await app.ledger.mint(accountsOf.treasury, 'OPEN', '1000', `mint:${uniqueId('treasury')}`);
    const id = uniqueId('capped');
    await proposalRow(id, '1000');
    await reserveBudget(app.sql, { proposalId: id, amount: '1000' });
    // The proposer answering their own review tasks and a reward pool larger than the budget.
    const own = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        payFromBudget(app.ledger, {
          proposalId: id,
          to: 'adversary',
          amount: '150',
          idempotencyKey: `review:${id}:${i}:adversary:reward`,
          reason: 'review reward (test)',
        }),
      ),
    );
    expect(own.reduce((s, r) => s + BigInt(r.paid), 0n)).toBe(750n);
    const pool = await payFromBudget(app.ledger, {
      proposalId: id,
      to: accountsOf.modelPool(`m-${id}`),
      amount: '5000',
      idempotencyKey: `rewards:${id}:fund`,
      reason: 'contributor reward pool',
    });
    expect(pool.paid).toBe('250');
    const treasury = BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'));
    await Promise.all([releaseBudget(app.ledger, id), releaseBudget(app.ledger, id)]);
    expect(BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'))).toBe(treasury); // nothing was left

    const id2 = uniqueId('unused');
    await proposalRow(id2, '400');
    await reserveBudget(app.sql, { proposalId: id2, amount: '400' });
    await payFromBudget(app.ledger, {
      proposalId: id2,
      to: 'reviewer-x',
      amount: '100',
      idempotencyKey: `review:${id2}:x:reward`,
      reason: 'review reward (test)',
    });
    const t2 = BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'));
    const released = await Promise.all([releaseBudget(app.ledger, id2), releaseBudget(app.ledger, id2)]);
    expect(released.map((r) => r.returned)).toEqual(['300', '300']);
    expect(BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'))).toBe(t2 + 300n);
    expect(await budgetOf(app.sql, id2)).toMatchObject({ reserved: '400', paid: '100', returned: '300', left: '0' });
  });

  it('penalties racing an unstake take from the unbonding stake, never fail, and never take more than was staked', async () => {
    const v = `validator-${uniqueId('v')}`;
    await app.ledger.mint(v, 'OPEN', '100', `mint:${v}`);
    await app.ledger.transfer({
      idempotencyKey: `stake:${v}`,
      asset: 'OPEN',
      from: v,
      to: accountsOf.validatorStake(v),
      amount: '100',
      reason: 'validator stake',
    });
    const treasury = BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'));
    const penalties = [1, 2, 3].map((i) =>
      slashValidator(app.ledger, {
        validator: v,
        amount: '40',
        idempotencyKey: `rlhf:test:r${i}:${v}:penalty`,
        reason: 'persistent disagreement (test)',
      }),
    );
    const results = await Promise.allSettled([
      ...penalties,
      unstake(app.sql, { address: v, amount: '60', idempotencyKey: `u-${v}`, unbondingPeriodMs: 60_000 }),
    ]);
    let total = 0n;
    for (const r of results.slice(0, 3)) {
      expect(r.status).toBe('fulfilled'); // a penalty never fails for funds
      if (r.status === 'fulfilled') total += BigInt((r.value as { slashed: string }).slashed);
    }
    expect(total).toBe(100n); // 3 × 40 asked, 100 staked: all of it, and no more
    expect(BigInt(await app.ledger.balance(accountsOf.treasury, 'OPEN'))).toBe(treasury + 100n);
    expect(await app.ledger.balance(accountsOf.validatorStake(v), 'OPEN')).toBe('0');
    expect(await app.ledger.balance(accountsOf.unbonding(v), 'OPEN')).toBe('0');
  });

  it('unstake before the unbonding period ends cannot be claimed; after it, exactly once', async () => {
    const validator = await participant(app.url, ['validator'], { OPEN: '1000' });
    await validator.stakeAsValidator('300');
    const { settings } = await validator.protocol();
    const started = Date.now();
    const u = await validator.unstake('200');
    expect(u.validatorStake).toBe('100');
    expect(u.unbonding.amount).toBe('200');
    expect(Date.parse(u.unbonding.availableAt) - started).toBeGreaterThanOrEqual(
      settings.staking.unbondingPeriodMs - 1000,
    );
    // Claiming early is refused and moves nothing.
    const early = await refusal(validator.claimUnbonded());
    expect(early.status).toBe(409);
    expect(early.message).toContain('unbonding until');
    expect(await app.ledger.balance(validator.address, 'OPEN')).toBe('700');
    // More than is staked cannot be unstaked.
    expect((await refusal(validator.unstake('101'))).status).toBe(402);
    // While unbonding it still answers for penalties.
    await slashValidator(app.ledger, {
      validator: validator.address,
      amount: '150',
      idempotencyKey: `rlhf:test:late:${validator.address}:penalty`,
      reason: 'penalty for a round settled during unbonding (test)',
    });
    expect(await app.ledger.balance(accountsOf.validatorStake(validator.address), 'OPEN')).toBe('0');
    expect(await app.ledger.balance(accountsOf.unbonding(validator.address), 'OPEN')).toBe('150');
    const claimed = await eventually(
      async () => {
        try {
          return await validator.claimUnbonded();
        } catch {
          return undefined;
        }
      },
      settings.staking.unbondingPeriodMs + 10_000,
      250,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(settings.staking.unbondingPeriodMs - 1000);
    expect(claimed.claimed).toBe('150');
    expect(await app.ledger.balance(validator.address, 'OPEN')).toBe('850');
    expect((await refusal(validator.claimUnbonded())).status).toBe(409);
    expect(await app.ledger.balance(validator.address, 'OPEN')).toBe('850');
    const list = await validator.unbonding();
    expect(list.entries.map((e) => e.status)).toEqual(['claimed']);
  });
});
