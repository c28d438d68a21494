import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { startTestApp, refusal, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { reviewRoundHarness } from '../support/review-round.js';
import { accountsOf } from '../../contracts/accounts.js';
import { deploymentIdOf, signRequest } from '../../identity/request-signing.js';
import { createStakedReviewActivities } from '../../activities/rlhf/staked-review.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { listAgreedReviewerWeights } from '../../db/queries/reviews.js';

/**
 * Attacks on staked review, on the real stack: each round is a real rlhfRoundWorkflow on the
 * lifecycle worker (candidates and DPO on gpu-rlhf) over a model trained here on SpamAssassin, and
 * every participant acts through the signed API. The minimum review bond is the default (1000).
 */
describe('staked review rounds under attack', () => {
  let app: TestApp;
  let h: Awaited<ReturnType<typeof reviewRoundHarness>>;
  let truth: Map<string, string>;
  const proposal = () => h.proposal();
  const reviewer = (bond: bigint, pid: string) => h.reviewer(bond, pid);
  const startRound = (...a: Parameters<typeof h.startRound>) => h.startRound(...a);
  const openTasks = (pid: string, round: number) => h.openTasks(pid, round);

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'rlhf'] });
    h = await reviewRoundHarness(app);
    truth = h.truth;
  }, 300_000);

  afterAll(async () => {
    await app?.close();
  });

  /** Each reviewer answers every task assigned to it, as `choose` says. */
  async function answerAssigned(
    reviewers: readonly CommonsClient[],
    proposalId: string,
    choose: (r: CommonsClient, t: { prompt: string; candidates: string[] }) => string | undefined,
  ) {
    await Promise.all(
      reviewers.map(async (r) => {
        const { tasks } = await r.reviews(r.address);
        for (const t of tasks.filter((x) => x.proposalId === proposalId)) {
          const choice = choose(r, t);
          if (choice !== undefined) await r.answerReview(t.id, choice);
        }
      }),
    );
  }

  const honestChoice = (t: { prompt: string; candidates: string[] }) => {
    const label = truth.get(t.prompt);
    if (!label || !t.candidates.includes(label)) throw new Error('a task whose prompt is not in the corpus');
    return label;
  };
  const wrongChoice = (t: { prompt: string; candidates: string[] }) =>
    t.candidates.find((c) => c !== truth.get(t.prompt));
  const total = async (c: CommonsClient) =>
    BigInt(await app.ledger.balance(c.address, 'OPEN')) +
    BigInt(await app.ledger.balance(accountsOf.validatorStake(c.address), 'OPEN'));

  it('refuses 500 unbonded sybil accounts: they cannot enlist or answer, and are never assigned', async () => {
    const pid = await proposal();
    const honest = await Promise.all([1, 2, 3].map(() => reviewer(20_000n, pid)));
    // A long deadline: the round closes once the honest reviewers have answered, not while 500 sybils try.
    const handle = await startRound(pid, 1, {
      promptsPerRound: 3,
      goldPerRound: 1,
      answersPerItem: 3,
      roundDeadlineMs: 900_000,
    });
    const tasks = await openTasks(pid, 1);
    const target = tasks[0]!;
    const sybils: CommonsClient[] = [];
    for (let i = 0; i < 500; i += 50)
      sybils.push(...(await Promise.all(Array.from({ length: 50 }, () => participant(app.url, ['reviewer'])))));
    const refusals: { status: number; message: string }[] = [];
    for (let i = 0; i < sybils.length; i += 50)
      refusals.push(
        ...(await Promise.all(
          sybils
            .slice(i, i + 50)
            .flatMap((s) => [
              refusal(s.enlistForReview(pid)),
              refusal(s.answerReview(target.id, target.candidates[0]!)),
            ]),
        )),
      );
    expect(refusals).toHaveLength(1000);
    for (const r of refusals) {
      expect(r.status).toBe(403);
      expect(r.message).toMatch(/review bond of at least 1000 OPEN/);
    }
    // Nothing they did reached the round.
    const addresses = sybils.map((s) => s.address);
    expect(await app.sql`select 1 from review_answers where reviewer in ${app.sql(addresses)}`).toHaveLength(0);
    expect(await app.sql`select 1 from review_assignments where reviewer in ${app.sql(addresses)}`).toHaveLength(0);
    expect(await app.sql`select 1 from review_enlistments where reviewer in ${app.sql(addresses)}`).toHaveLength(0);
    await answerAssigned(honest, pid, (_, t) => honestChoice(t));
    const summary = await handle.result();
    expect(summary.answers).toBeGreaterThan(0);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  }, 600_000);

  it('low-bond sybils voting together for the wrong candidate lose to bonded honest reviewers and lose money', async () => {
    const pid = await proposal();
    const honest = await Promise.all([1, 2, 3].map(() => reviewer(30_000n, pid)));
    // 40 sybils at the minimum bond: 40,000 bonded in all, against 90,000 honest.
    const sybils = await Promise.all(Array.from({ length: 40 }, () => reviewer(1000n, pid)));
    const before = new Map(await Promise.all(sybils.map(async (s) => [s.address, await total(s)] as const)));
    const handle = await startRound(pid, 1, {
      promptsPerRound: 6,
      goldPerRound: 2,
      answersPerItem: 8,
      extraReviewers: 0,
    });
    await openTasks(pid, 1);
    await answerAssigned([...honest, ...sybils], pid, (r, t) =>
      sybils.includes(r) ? wrongChoice(t) : honestChoice(t),
    );
    await handle.result();
    const tasks = await app.sql<{ prompt: string; consensus: string | null; gold_answer: string | null }[]>`
      select prompt, consensus, gold_answer from review_tasks where proposal_id = ${pid}`;
    const resolved = tasks.filter((t) => t.consensus !== null);
    expect(resolved.length).toBeGreaterThan(0);
    for (const t of resolved) expect(t.consensus).toBe(truth.get(t.prompt));
    // Every sybil that was assigned anything lost more than it earned; together they lost.
    const outcomes = await app.sql<{ reviewer: string; reward: string; penalty: string }[]>`
      select reviewer, reward::text, penalty::text from review_round_reviewers where proposal_id = ${pid}`;
    const sybilOutcomes = outcomes.filter((o) => before.has(o.reviewer));
    expect(sybilOutcomes.length).toBeGreaterThan(0);
    for (const o of sybilOutcomes) expect(BigInt(o.penalty)).toBeGreaterThan(BigInt(o.reward));
    let lost = 0n;
    for (const s of sybils) lost += before.get(s.address)! - (await total(s));
    expect(lost).toBeGreaterThan(0n);
    for (const h of honest) expect(await total(h)).toBeGreaterThanOrEqual(30_000n);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  }, 600_000);

  it('refuses unassigned tasks, duplicate and replayed answers, and shows no answer before settlement', async () => {
    const pid = await proposal();
    const honest = await Promise.all([1, 2, 3, 4].map(() => reviewer(10_000n, pid)));
    const handle = await startRound(pid, 1, { promptsPerRound: 4, goldPerRound: 1, answersPerItem: 2 });
    const tasks = await openTasks(pid, 1);
    const assigned = await app.sql<{ task_id: string; reviewer: string }[]>`
      select task_id, reviewer from review_assignments where task_id in ${app.sql(tasks.map((t) => t.id))}`;
    const mine = (r: CommonsClient) => new Set(assigned.filter((a) => a.reviewer === r.address).map((a) => a.task_id));
    // The draw is seeded by the round's committed secret, so who got which tasks varies from run to run: with
    // four reviewers and two per task, one of them draws every task, or none, in about 1 run in 30.
    // Take a reviewer with a task not theirs, and a second one who drew a task.
    const a = honest.find((r) => tasks.some((t) => !mine(r).has(t.id)));
    const b = honest.find((r) => r !== a && mine(r).size > 0);
    if (!a || !b) throw new Error('each task has two assignees, so both reviewers exist');
    const notMine = tasks.find((t) => !mine(a).has(t.id))!;
    // Unassigned: refused, and the reviewer never sees it listed.
    const unassigned = await refusal(a.answerReview(notMine.id, notMine.candidates[0]!));
    expect(unassigned.status).toBe(403);
    expect(unassigned.message).toMatch(/not assigned to you/);
    expect((await a.reviews(a.address)).tasks.map((t) => t.id)).not.toContain(notMine.id);
    // An assigned task: answered once; a second answer (any choice) and a replayed request are refused.
    const own = tasks.find((t) => mine(b).has(t.id))!;
    const path = `/v1/reviews/${encodeURIComponent(own.id)}`;
    const body = JSON.stringify({ choice: honestChoice(own) });
    const headers = {
      ...signRequest({ deploymentId: await deploymentIdOf(app.url), method: 'POST', path, body, keys: b.keys! }),
      'content-type': 'application/json',
    };
    const first = await fetch(app.url + path, { method: 'POST', headers, body });
    expect(first.status).toBe(200);
    const replayed = await fetch(app.url + path, { method: 'POST', headers, body });
    expect(replayed.status).toBe(401);
    const again = await refusal(b.answerReview(own.id, wrongChoice(own)!));
    expect(again.status).toBe(409);
    expect(again.message).toMatch(/already answered/);
    expect(
      await app.sql`select choice from review_answers where task_id = ${own.id} and reviewer = ${b.address}`,
    ).toEqual([{ choice: honestChoice(own) }]);
    // Copying: while the round is open, nothing a reviewer can read says what anyone answered.
    const seen = JSON.stringify([
      await a.reviews(a.address),
      await a.reviews(),
      await a.reviewRounds(pid),
      await a.reviewer(b.address),
      await handle.query('roundStatus'),
    ]);
    expect(seen).not.toMatch(/"choice"|"consensus"|"agreed"/);
    expect((await a.reviewRounds(pid)).rounds).toHaveLength(0);
    expect((await a.reviewer(b.address)).rounds).toHaveLength(0);
    await answerAssigned(honest, pid, (_, t) => honestChoice(t));
    await handle.result();
    // After settlement the outcome is public.
    expect((await a.reviewRounds(pid)).rounds[0]?.summary).toHaveProperty('alpha');
  }, 600_000);

  it('a reviewer right half the time loses money over rounds, an always-wrong one is paused by gold items, and a retried settlement pays once', async () => {
    const pid = await proposal();
    const honest = await Promise.all([1, 2, 3].map(() => reviewer(20_000n, pid)));
    const flipper = await reviewer(5000n, pid);
    // 19,000 together: the flipper and the contrarian answering alike never tie an honest 20,000,
    // so every item they share resolves (an item without a stake majority settles nothing).
    const contrarian = await reviewer(14_000n, pid);
    const start = { flipper: await total(flipper), contrarian: await total(contrarian) };
    // Right on exactly half its answers, wrong first in each round (so never more right than wrong),
    // rather than a seeded coin: over the few items a round assigns, a real coin agrees 3 times in
    // 4 often enough to profit, which the rule allows; what it promises is that p = 1/2 loses.
    let flips = 0;
    let lastHandle: Awaited<ReturnType<typeof startRound>> | undefined;
    for (let round = 1; round <= 3; round++) {
      flips = 0;
      const handle = await startRound(pid, round, {
        promptsPerRound: 4,
        goldPerRound: 6,
        answersPerItem: 3,
        extraReviewers: 0,
      });
      await openTasks(pid, round);
      await answerAssigned([...honest, flipper, contrarian], pid, (r, t) =>
        r === flipper
          ? flips++ % 2 === 0
            ? wrongChoice(t)
            : honestChoice(t)
          : r === contrarian
            ? wrongChoice(t)
            : honestChoice(t),
      );
      await handle.result();
      lastHandle = handle;
    }
    expect(await total(flipper)).toBeLessThan(start.flipper);
    expect(await total(contrarian)).toBeLessThan(start.contrarian);
    // Gold items paused the contrarian: the API says so. Paused, it is still drawn tasks (so an
    // honest reviewer can win its way back through gold items), but its last round moved nothing.
    const c = await flipper.reviewer(contrarian.address);
    expect(c.paused).toBe(true);
    expect(c.goldAccuracy).toBeLessThan(c.goldThreshold);
    const lastRound = await app.sql`
      select 1 from review_assignments s join review_tasks t on t.id = s.task_id
      where t.proposal_id = ${pid} and t.round = 3 and s.reviewer = ${contrarian.address}`;
    expect(lastRound.length).toBeGreaterThan(0);
    expect(
      await app.sql`select reward::text, penalty::text, paused from review_round_reviewers
        where proposal_id = ${pid} and round = 3 and reviewer = ${contrarian.address}`,
    ).toEqual([{ reward: '0', penalty: '0', paused: true }]);
    for (const h of honest) expect((await h.reviewer(h.address)).paused).toBe(false);

    // Settlement retried with the exact input the workflow gave it: the same outcome, paid once.
    const history = await lastHandle!.fetchHistory();
    const scheduled = (history.events ?? []).find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'settleStakedRound',
    )?.activityTaskScheduledEventAttributes;
    const payload = scheduled?.input?.payloads?.[0];
    if (!payload) throw new Error('no settleStakedRound in the round history');
    const input =
      defaultPayloadConverter.fromPayload<
        Parameters<ReturnType<typeof createStakedReviewActivities>['settleStakedRound']>[0]
      >(payload);
    const transfersOf = () =>
      app.sql<{ idempotency_key: string; amount: string }[]>`
        select idempotency_key, amount::text from transfers where proposal_id = ${pid} order by idempotency_key`;
    const paidBefore = await transfersOf();
    const balancesBefore = await Promise.all([...honest, flipper, contrarian].map(total));
    const activities = createStakedReviewActivities({
      sql: app.sql,
      ledger: app.ledger,
      store: app.store,
      protocol: app.cfg.protocol,
    });
    await Promise.all([activities.settleStakedRound(input), activities.settleStakedRound(input)]);
    expect(await transfersOf()).toEqual(paidBefore);
    expect(await Promise.all([...honest, flipper, contrarian].map(total))).toEqual(balancesBefore);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  }, 900_000);

  it('a paused account learns nothing about gold items from its tasks, and its answers move no consensus and earn nothing', async () => {
    // One participant: a paused account `spy` and two active accounts; two other honest reviewers.
    // Gold-only tasks for the spy would name the gold items for the active accounts to answer
    // honestly while cutting corners elsewhere; its heavy bond would buy the consensus if it weighed.
    const pid = await proposal();
    const others = await Promise.all([1, 2].map(() => reviewer(10_000n, pid)));
    const mates = await Promise.all([1, 2].map(() => reviewer(10_000n, pid)));
    const spy = await participant(app.url, ['reviewer'], { OPEN: '30000' });
    await spy.bondForReview('1000');
    await spy.enlistForReview(pid);
    const everyone = [...others, ...mates, spy];

    // Round 1: the spy gets itself paused by answering everything wrong (its 1000 weigh little).
    const r1 = await startRound(pid, 1, { promptsPerRound: 3, goldPerRound: 2, answersPerItem: 5, extraReviewers: 0 });
    await openTasks(pid, 1);
    await answerAssigned(everyone, pid, (r, t) => (r === spy ? wrongChoice(t) : honestChoice(t)));
    await r1.result();
    expect((await spy.reviewer(spy.address)).paused).toBe(true);
    // Paused, it bonds 29,000 more: 30,000, more than the two active reviewers of any item together.
    await spy.bondForReview('29000');
    const spyBefore = await total(spy);

    // Round 2: its tasks are the same kind of mix as an active account's, and look the same.
    const r2 = await startRound(pid, 2, {
      promptsPerRound: 6,
      goldPerRound: 3,
      // Two of the four active accounts per item, so an extension would have reviewers to draw.
      answersPerItem: 2,
      extraReviewers: 2,
      lowAgreementSupport: 0.75,
    });
    const tasks = await openTasks(pid, 2);
    const gold = new Set(
      (
        await app.sql<{ id: string }[]>`
          select id from review_tasks where proposal_id = ${pid} and round = 2 and gold_answer is not null`
      ).map((t) => t.id),
    );
    expect(gold.size).toBe(3);
    const spyView = (await spy.reviews(spy.address)).tasks.filter((t) => t.proposalId === pid);
    const activeView = (await Promise.all([...others, ...mates].map((r) => r.reviews(r.address)))).flatMap((v) =>
      v.tasks.filter((t) => t.proposalId === pid),
    );
    // The spy (the only paused account) is drawn for every item, gold and not: no subset to read.
    expect(spyView.map((t) => t.id).sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(spyView.some((t) => gold.has(t.id)) && spyView.some((t) => !gold.has(t.id))).toBe(true);
    // The same fields as an active account's tasks, and nothing that names gold.
    expect(Object.keys(spyView[0]!).sort()).toEqual(Object.keys(activeView[0]!).sort());
    // (The mails' own text is left out: one signs 'Duncan Goldie-Scot'.)
    expect(JSON.stringify(spyView.map(({ prompt: _, ...rest }) => rest))).not.toMatch(/gold/i);
    // Every item keeps its two active reviewers: the spy took no active slot.
    const assigned = await app.sql<{ task_id: string; reviewer: string }[]>`
      select task_id, reviewer from review_assignments where task_id in ${app.sql(tasks.map((t) => t.id))}`;
    for (const t of tasks)
      expect(assigned.filter((a) => a.task_id === t.id && a.reviewer !== spy.address)).toHaveLength(2);

    // The spy answers its first half right and the rest wrong; everyone else answers honestly.
    let n = 0;
    const half = Math.ceil(spyView.length / 2);
    await answerAssigned(everyone, pid, (r, t) =>
      r === spy ? (n++ < half ? honestChoice(t) : wrongChoice(t)) : honestChoice(t),
    );
    const summary = await r2.result();
    const rows = await app.sql<{ id: string; prompt: string; consensus: string | null }[]>`
      select id, prompt, consensus from review_tasks where proposal_id = ${pid} and round = 2`;
    // 30,000 wrong against 20,000 right moved no item, and opened no low-agreement extension (had
    // the spy weighed, the wrong answer would win with support 0.6, below 0.75: extended).
    for (const t of rows) expect(t.consensus).toBe(truth.get(t.prompt));
    const [round2] = (await spy.reviewRounds(pid)).rounds.filter((r) => r.round === 2);
    expect(round2?.summary).toMatchObject({ extended: 0 });
    expect(summary.answers).toBe(2 * rows.length + spyView.length);
    // Its answers weighed 0 and none is marked agreed, so it takes no inference-fee reviewer share.
    const spyAnswers = await app.sql<{ weight: string; agreed: boolean | null }[]>`
      select a.weight::text, a.agreed from review_answers a join review_tasks t on t.id = a.task_id
      where t.proposal_id = ${pid} and t.round = 2 and a.reviewer = ${spy.address}`;
    expect(spyAnswers).toHaveLength(spyView.length);
    for (const a of spyAnswers) expect(a).toEqual({ weight: '0', agreed: null });
    expect((await listAgreedReviewerWeights(app.sql, pid)).map((w) => w.address)).not.toContain(spy.address);
    // No reward, no penalty: its balance and bond are as they were.
    expect(
      await app.sql`select reward::text, penalty::text, agreed, disagreed from review_round_reviewers
        where proposal_id = ${pid} and round = 2 and reviewer = ${spy.address}`,
    ).toEqual([{ reward: '0', penalty: '0', agreed: 0, disagreed: 0 }]);
    expect(await total(spy)).toBe(spyBefore);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  }, 900_000);
});
