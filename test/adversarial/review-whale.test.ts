import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { reviewRoundHarness } from '../support/review-round.js';
import { accountsOf } from '../../contracts/accounts.js';
import { payFromBudget } from '../../db/budgets.js';
import type { CommonsClient } from '../../client/commons-client.js';

/**
 * A whale bond in a staked review round, on the real stack: one reviewer bonds 10^12 OPEN beside
 * three honest reviewers on a proposal whose budget is 5,000 with a contributors' pool of 2,000.
 * The pool is reserved before any review reward, the whale's reward stays within the per-answer cap
 * (rewards.reviewAgreementReward), and its bond alone decides no consensus and slashes nobody.
 */
describe('a whale review bond', () => {
  let app: TestApp;
  let h: Awaited<ReturnType<typeof reviewRoundHarness>>;

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'rlhf'] });
    h = await reviewRoundHarness(app);
  }, 300_000);
  afterAll(async () => {
    await app?.close();
  });

  const WHALE = 10n ** 12n;
  const BUDGET = 5000n;
  const POOL = 2000n;
  const AGREEMENT_REWARD = 2n; // the protocol default, snapshotted into the proposal's terms

  /** Everyone answers every task assigned to it; `wrong` reviewers pick another candidate. */
  async function answerAll(reviewers: readonly CommonsClient[], pid: string, wrong: ReadonlySet<string>) {
    await Promise.all(
      reviewers.map(async (r) => {
        const { tasks } = await r.reviews(r.address);
        for (const t of tasks.filter((x) => x.proposalId === pid)) {
          const right = h.truth.get(t.prompt)!;
          await r.answerReview(t.id, wrong.has(r.address) ? t.candidates.find((c) => c !== right)! : right);
        }
      }),
    );
  }
  const outcomes = (pid: string, round: number) =>
    app.sql<{ reviewer: string; reward: string; penalty: string; agreed: number; assigned: number }[]>`
      select reviewer, reward::text, penalty::text, agreed, assigned from review_round_reviewers
      where proposal_id = ${pid} and round = ${round}`;

  it('the pool is paid in full, the whale earns at most the cap, and its bond alone decides nothing', async () => {
    const pid = await h.proposal({ budget: BUDGET.toString(), params: { serving: { rewardPool: POOL.toString() } } });
    const honest = await Promise.all([1, 2, 3].map(() => h.reviewer(20_000n, pid)));
    const whale = await h.reviewer(WHALE, pid);
    const all = [...honest, whale];
    const rlhf = {
      promptsPerRound: 3,
      goldPerRound: 0,
      answersPerItem: 4,
      extraReviewers: 0,
      roundDeadlineMs: 120_000,
    };

    // Round 1: the whale answers against the three honest reviewers on every item.
    const r1 = await h.startRound(pid, 1, rlhf);
    await h.openTasks(pid, 1);
    await answerAll(all, pid, new Set([whale.address]));
    await r1.result();
    const tasks1 = await app.sql<{ consensus: string | null; prompt: string }[]>`
      select consensus, prompt from review_tasks where proposal_id = ${pid} and round = 1`;
    // Its bond weighs as much as the other three together, no more: no item resolves its way (an
    // even split resolves nothing, so nobody is slashed either).
    expect(tasks1).toHaveLength(3);
    for (const t of tasks1) expect(t.consensus).toBeNull();
    const o1 = await outcomes(pid, 1);
    expect(o1).toHaveLength(4);
    for (const o of o1) expect(o.penalty).toBe('0');
    expect(o1.find((o) => o.reviewer === whale.address)?.reward).toBe('0');

    // Round 2: the whale agrees with everyone, so its stake x rate would be 2 x 10^9.
    const r2 = await h.startRound(pid, 2, rlhf);
    await h.openTasks(pid, 2);
    await answerAll(all, pid, new Set());
    await r2.result();
    const o2 = await outcomes(pid, 2);
    const w = o2.find((o) => o.reviewer === whale.address)!;
    expect(w.agreed).toBeGreaterThan(0);
    expect(BigInt(w.reward)).toBeGreaterThan(0n);
    expect(BigInt(w.reward)).toBeLessThanOrEqual(AGREEMENT_REWARD * BigInt(w.agreed));
    const rewards = [...o1, ...o2].reduce((t, o) => t + BigInt(o.reward), 0n);
    expect(rewards).toBeLessThanOrEqual(BUDGET - POOL);

    // The contributors' pool is still there, and paid in full as the deployment stage pays it.
    expect(BigInt(await app.ledger.balance(accountsOf.budget(pid), 'OPEN'))).toBe(BUDGET - rewards);
    const funded = await payFromBudget(app.ledger, {
      proposalId: pid,
      to: accountsOf.modelPool(`m-${pid}`),
      amount: POOL.toString(),
      idempotencyKey: `rewards:${pid}:fund`,
      reason: 'contributor reward pool',
    });
    expect(funded.paid).toBe(POOL.toString());
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  }, 300_000);
});
