import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { startTestApp, type TestApp } from '../support/app.js';
import { reviewRoundHarness } from '../support/review-round.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { assignTasks, type Assignment } from '../../domain/rlhf/assignment.js';
import { roundSeed } from '../../domain/rlhf/round-seed.js';
import type { RoundSeedResponse } from '../../api/schemas/reviews.js';

/**
 * Steering a staked review round's draw, on the real stack. In 1.0 the draw was seeded by
 * `workflowId:round`, and the workflow id is public (it follows the proposal id), so a proposer
 * could compute the draw before anyone enlisted and search ids for a favourable one. Now only a
 * commitment is public while the round runs; the secret and seed are revealed at settlement, the
 * secret opens the commitment, and the revealed seed reproduces the draw exactly.
 */
describe('the draw of a staked review round', () => {
  let app: TestApp;
  let h: Awaited<ReturnType<typeof reviewRoundHarness>>;

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'rlhf'] });
    h = await reviewRoundHarness(app);
  }, 300_000);
  afterAll(async () => {
    await app?.close();
  });

  it('cannot be computed from the workflow id or any public data before settlement, and its reveal verifies', async () => {
    const pid = await h.proposal();
    const reviewers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => h.reviewer(5_000n, pid)));
    const perTask = 2;
    const handle = await h.startRound(pid, 1, {
      promptsPerRound: 4,
      goldPerRound: 1,
      answersPerItem: perTask,
      extraReviewers: 0,
      roundDeadlineMs: 120_000,
    });
    await h.openTasks(pid, 1);
    const seedOf = () => reviewers[0]!.get<RoundSeedResponse>(`/v1/reviews/rounds/seed?proposalId=${pid}&round=1`);

    // While the round runs: the commitment and the pool, nothing that yields the draw.
    const open = await seedOf();
    expect(open.commitment).toMatch(/^[0-9a-f]{64}$/);
    expect(open.pool?.map((p) => p.reviewer).sort()).toEqual(reviewers.map((r) => r.address).sort());
    expect([open.secret, open.seed, open.revealedAt, open.verified]).toEqual([null, null, null, null]);

    for (const r of reviewers)
      for (const t of (await r.reviews(r.address)).tasks.filter((x) => x.proposalId === pid))
        await r.answerReview(t.id, h.truth.get(t.prompt)!);
    await handle.result();

    // Settled: the secret opens the commitment and, with the recorded pool, yields the seed.
    const revealed = await seedOf();
    expect(revealed.verified).toBe(true);
    expect(createHash('sha256').update(revealed.secret!).digest('hex')).toBe(open.commitment);
    expect(roundSeed({ proposalId: pid, round: 1, secret: revealed.secret!, pool: revealed.pool! })).toBe(
      revealed.seed,
    );

    // The draws the round made, from its history.
    const events = (await handle.fetchHistory()).events ?? [];
    const inputOf = <T>(name: string): T => {
      const payload = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name)
        ?.activityTaskScheduledEventAttributes?.input?.payloads?.[0];
      if (!payload) throw new Error(`no ${name} in the round history`);
      return defaultPayloadConverter.fromPayload<T>(payload);
    };
    const items = inputOf<{ items: { promptId: string }[] }>('createReviewTasks').items;
    const drawn = inputOf<{ assignments: Assignment[] }>('assignReviewTasks').assignments;
    const gold = inputOf<{ seed: string }>('pickGoldItems');
    const draw = (seed: string) =>
      assignTasks({
        taskIds: items.map((i) => `${pid}-r1-${i.promptId}`),
        reviewers: revealed.pool!.map((p) => ({ reviewer: p.reviewer, stake: BigInt(p.stake) })),
        perTask,
        capPerReviewer: 50,
        seed,
      });
    // The revealed seed reproduces the assignment and chose the gold items ...
    expect(drawn).toEqual(draw(revealed.seed!));
    expect(gold.seed).toBe(revealed.seed);
    // ... and the public workflow id predicts neither.
    const predictable = `${workflowIds.rlhfRound(pid, 1)}:1`;
    expect(gold.seed).not.toBe(predictable);
    expect(drawn).not.toEqual(draw(predictable));
  }, 300_000);
});
