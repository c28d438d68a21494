import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, refusal, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { reviewRoundHarness } from '../support/review-round.js';
import { accountsOf } from '../../contracts/accounts.js';

/**
 * A round that outlasts the unbonding period (3 s on the local stack) on the real stack: a reviewer
 * assigned to it tries to unbond and claim its bond before the round settles, so that the penalty
 * for the tasks it never answers would find nothing. Its bond stays locked until settlement, and the
 * penalty is taken in full.
 */
describe('a bond assigned to a review round', () => {
  let app: TestApp;
  let h: Awaited<ReturnType<typeof reviewRoundHarness>>;

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'rlhf'] });
    h = await reviewRoundHarness(app);
  }, 300_000);
  afterAll(async () => {
    await app?.close();
  });

  it('cannot be unbonded or claimed before the round settles, and pays its penalty in full', async () => {
    const unbondingMs = app.cfg.protocol.staking.unbondingPeriodMs;
    const roundMs = unbondingMs + 6_000;
    const pid = await h.proposal();
    const honest = await Promise.all([1, 2].map(() => h.reviewer(20_000n, pid)));
    const cheat = await participant(app.url, ['reviewer', 'validator'], { OPEN: '2000' });
    await cheat.bondForReview('2000');
    await cheat.enlistForReview(pid);
    const bond = () => app.ledger.balance(accountsOf.validatorStake(cheat.address), 'OPEN');

    const round = await h.startRound(pid, 1, {
      promptsPerRound: 2,
      goldPerRound: 0,
      answersPerItem: 3,
      extraReviewers: 0,
      roundDeadlineMs: roundMs,
    });
    const tasks = await h.openTasks(pid, 1);
    const started = Date.now();
    expect((await cheat.reviews(cheat.address)).tasks.length).toBe(tasks.length);

    const unstake = await refusal(cheat.unstake('2000'));
    expect(unstake.status).toBe(409);
    expect(unstake.message).toContain(`round 1 of proposal ${pid}`);
    expect(await bond()).toBe('2000');
    // Past the unbonding period, still before settlement: nothing to claim.
    await new Promise((r) => setTimeout(r, unbondingMs + 500));
    expect((await refusal(cheat.claimUnbonded())).status).toBe(409);
    expect(Date.now() - started).toBeLessThan(roundMs);

    // The honest reviewers answer; the cheat never does, so the round settles at its deadline and
    // every assigned item counts against it.
    for (const r of honest)
      for (const t of (await r.reviews(r.address)).tasks.filter((x) => x.proposalId === pid))
        await r.answerReview(t.id, h.truth.get(t.prompt)!);
    await round.result();
    const [outcome] = await app.sql<{ penalty: string; disagreed: number }[]>`
      select penalty::text, disagreed from review_round_reviewers
      where proposal_id = ${pid} and round = 1 and reviewer = ${cheat.address}`;
    expect(outcome?.disagreed).toBe(tasks.length);
    const penalty = BigInt(outcome!.penalty);
    expect(penalty).toBeGreaterThan(0n);
    // Taken in full from the bond it could not move.
    expect(BigInt(await bond())).toBe(2000n - penalty);
    expect(await app.ledger.balance(accountsOf.unbonding(cheat.address), 'OPEN')).toBe('0');

    // Settled: the rest of the bond is free to unbond.
    const after = await cheat.unstake((2000n - penalty).toString());
    expect(after.unbonding.amount).toBe((2000n - penalty).toString());
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  }, 300_000);
});
