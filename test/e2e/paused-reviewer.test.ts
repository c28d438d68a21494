import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { reviewRoundHarness } from '../support/review-round.js';
import { accountsOf } from '../../contracts/accounts.js';
import type { CommonsClient } from '../../client/commons-client.js';

/**
 * The gold gate's pause ends: a reviewer paused by wrong gold answers is still drawn tasks, its
 * gold answers count, and once its accuracy is back at the threshold it is active and earning from
 * the next round. Real rounds (rlhfRoundWorkflow on the
 * lifecycle worker, candidates and DPO on gpu-rlhf), every participant acting through the API.
 */
describe('a paused reviewer recovers through its gold answers', () => {
  let app: TestApp;
  let h: Awaited<ReturnType<typeof reviewRoundHarness>>;

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'rlhf'] });
    h = await reviewRoundHarness(app);
  }, 300_000);

  afterAll(async () => {
    await app?.close();
  });

  const honestChoice = (t: { prompt: string; candidates: string[] }) => {
    const label = h.truth.get(t.prompt);
    if (!label || !t.candidates.includes(label)) throw new Error('a task whose prompt is not in the corpus');
    return label;
  };
  const wrongChoice = (t: { prompt: string; candidates: string[] }) =>
    t.candidates.find((c) => c !== h.truth.get(t.prompt))!;
  const total = async (c: CommonsClient) =>
    BigInt(await app.ledger.balance(c.address, 'OPEN')) +
    BigInt(await app.ledger.balance(accountsOf.validatorStake(c.address), 'OPEN'));

  async function answerAssigned(
    reviewers: readonly CommonsClient[],
    proposalId: string,
    choose: (r: CommonsClient, t: { prompt: string; candidates: string[] }) => string,
  ) {
    await Promise.all(
      reviewers.map(async (r) => {
        const { tasks } = await r.reviews(r.address);
        for (const t of tasks.filter((x) => x.proposalId === proposalId)) await r.answerReview(t.id, choose(r, t));
      }),
    );
  }

  const assignedIn = (pid: string, round: number) =>
    app.sql<{ task_id: string; reviewer: string; gold: boolean }[]>`
      select s.task_id, s.reviewer, t.gold_answer is not null as gold from review_assignments s
      join review_tasks t on t.id = s.task_id where t.proposal_id = ${pid} and t.round = ${round}`;
  const outcome = async (pid: string, round: number, reviewer: string) => {
    const [row] = await app.sql<
      { reward: string; penalty: string; paused: boolean; gold_correct: number; gold_answered: number }[]
    >`select reward::text, penalty::text, paused, gold_correct, gold_answered from review_round_reviewers
      where proposal_id = ${pid} and round = ${round} and reviewer = ${reviewer}`;
    if (!row) throw new Error(`no outcome for ${reviewer} in round ${round}`);
    return row;
  };

  it('is paused by two missed gold items, assigned an ordinary mix while paused, and active and earning after it answers gold right', async () => {
    const pid = await h.proposal();
    const honest = await Promise.all([1, 2, 3].map(() => h.reviewer(20_000n, pid)));
    const newbie = await h.reviewer(5000n, pid);
    const all = [...honest, newbie];
    // Small rounds: everyone draws every task (4 per item), a round closes once all have answered.
    const shape = { promptsPerRound: 3, answersPerItem: 4, roundDeadlineMs: 60_000, extraReviewers: 0 };

    // Round 1: the newbie misses both gold items: (0 + 8) / (2 + 10) = 0.67, paused.
    const r1 = await h.startRound(pid, 1, { ...shape, goldPerRound: 2 });
    await h.openTasks(pid, 1);
    await answerAssigned(all, pid, (r, t) => (r === newbie ? wrongChoice(t) : honestChoice(t)));
    await r1.result();
    const paused = await newbie.reviewer(newbie.address);
    expect([paused.paused, paused.goldAnswered, paused.goldCorrect]).toEqual([true, 2, 0]);

    // Round 2: still drawn tasks, gold and ordinary alike, on top of the active reviewers' slots.
    const r2 = await h.startRound(pid, 2, { ...shape, goldPerRound: 3 });
    const tasks2 = await h.openTasks(pid, 2);
    const assigned2 = await assignedIn(pid, 2);
    const newbieTasks = assigned2.filter((a) => a.reviewer === newbie.address);
    expect(newbieTasks.some((a) => a.gold)).toBe(true);
    expect(newbieTasks.some((a) => !a.gold)).toBe(true);
    // Every item keeps its three active reviewers.
    for (const t of tasks2)
      expect(assigned2.filter((a) => a.task_id === t.id && a.reviewer !== newbie.address)).toHaveLength(3);
    // It sees them like anyone else.
    expect((await newbie.reviews(newbie.address)).tasks.filter((t) => t.proposalId === pid)).toHaveLength(
      newbieTasks.length,
    );
    const beforeR2 = await total(newbie);
    await answerAssigned(all, pid, (_, t) => honestChoice(t));
    await r2.result();
    // Its gold answers counted: (3 + 8) / (5 + 10) = 0.733, active again. Its other answers earned
    // nothing and were not marked agreed (no inference-fee share).
    const o2 = await outcome(pid, 2, newbie.address);
    expect(o2).toEqual({ reward: '0', penalty: '0', paused: false, gold_correct: 3, gold_answered: 3 });
    expect(await total(newbie)).toBe(beforeR2);
    const flags = await app.sql<{ agreed: boolean | null }[]>`
      select a.agreed from review_answers a join review_tasks t on t.id = a.task_id
      where t.proposal_id = ${pid} and t.round = 2 and a.reviewer = ${newbie.address}`;
    expect(flags.length).toBe(newbieTasks.length);
    for (const f of flags) expect(f.agreed).toBeNull();
    const standing = await honest[0]!.reviewer(newbie.address);
    expect([standing.paused, standing.goldCorrect, standing.goldAnswered]).toEqual([false, 3, 5]);

    // Round 3: active, drawn among the active reviewers, rewarded for agreeing.
    const r3 = await h.startRound(pid, 3, { ...shape, goldPerRound: 1 });
    await h.openTasks(pid, 3);
    const beforeR3 = await total(newbie);
    await answerAssigned(all, pid, (_, t) => honestChoice(t));
    await r3.result();
    const o3 = await outcome(pid, 3, newbie.address);
    expect(BigInt(o3.reward)).toBeGreaterThan(0n);
    expect([o3.penalty, o3.paused]).toEqual(['0', false]);
    expect(await total(newbie)).toBe(beforeR3 + BigInt(o3.reward));
    const agreed3 = await app.sql<{ agreed: boolean | null }[]>`
      select a.agreed from review_answers a join review_tasks t on t.id = a.task_id
      where t.proposal_id = ${pid} and t.round = 3 and a.reviewer = ${newbie.address} and t.consensus is not null`;
    expect(agreed3.length).toBeGreaterThan(0);
    for (const f of agreed3) expect(f.agreed).toBe(true);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  }, 900_000);
});
