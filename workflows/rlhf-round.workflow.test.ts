import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startWorkflowTier,
  eventually,
  refusal,
  uniqueId,
  type Scope,
  type WorkflowTier,
} from '../test/workflow-tier/tier.js';
import { succeedingActivities, GOOD_METRICS } from '../test/workflow-tier/mocks.js';
import { TASK_QUEUES } from '../contracts/task-queues.js';
import { workflowIds } from '../contracts/workflow-ids.js';
import { reviewAnswerUpdate, roundStatusQuery } from '../contracts/messages.js';
import { withDefaults } from '../domain/lifecycle/params.js';
import type { LifecycleParams } from '../domain/lifecycle/types.js';
import { assignTasks, type Assignment } from '../domain/rlhf/assignment.js';
import type { PoolReviewer } from '../activities/rlhf/staked-review.js';
import type { rlhfRoundWorkflow, RlhfRoundInput } from './rlhf-round.js';

/**
 * The staked review round with its activities mocked: who may answer (assignment, paused
 * reviewers on top of the active draw), which answers it refuses, how it closes (everyone
 * assigned answered, or the deadline), the bounded extension for low-agreement items, and what it
 * hands to settlement and the preference update. The money (settlement, gold records) is the stack's.
 */
const RLHF: LifecycleParams['rlhf'] = {
  ...withDefaults().rlhf,
  promptsPerRound: 2,
  candidatesPerPrompt: 2,
  answersPerItem: 3,
  roundDeadlineMs: 20_000,
  goldPerRound: 0,
  extraReviewers: 0,
  extensionMs: 20_000,
  maxEvalDrop: 0,
};
const STAKE = '1000000';
const pool = (active: string[], paused: string[] = []): PoolReviewer[] => [
  ...active.map((reviewer) => ({ reviewer, stake: STAKE, paused: false, goldCorrect: 0, goldAnswered: 0 })),
  ...paused.map((reviewer) => ({ reviewer, stake: STAKE, paused: true, goldCorrect: 0, goldAnswered: 2 })),
];

describe.concurrent('staked review rounds (workflow tier)', () => {
  let tier: WorkflowTier;

  beforeAll(async () => {
    tier = await startWorkflowTier(import.meta.url, succeedingActivities());
  });
  afterAll(async () => {
    await tier?.shutdown();
  });

  const start = (t: Scope, rlhf: Partial<LifecycleParams['rlhf']> = {}, extra: Partial<RlhfRoundInput> = {}) =>
    tier.client.workflow.start<typeof rlhfRoundWorkflow>('rlhfRoundWorkflow', {
      taskQueue: TASK_QUEUES.lifecycle,
      workflowId: workflowIds.rlhfRound(t.key, 1),
      args: [
        {
          proposalId: t.key,
          modelName: `m-${t.key}`,
          round: 1,
          policyArtifactKey: 'staging/policy.bin',
          policyMetrics: GOOD_METRICS,
          referenceArtifactKey: 'staging/reference.bin',
          evalManifestKey: 'staging/eval.jsonl',
          params: { ...RLHF, ...rlhf },
          hyperparams: withDefaults().training.hyperparams,
          heartbeatTimeoutMs: 5_000,
          maxAttempts: 2,
          trainer: 'embedded',
          task: 'classification',
          ...extra,
        },
      ],
    });
  /** The assignments of the round's first draw, once its tasks are open. */
  const opened = async (t: Scope) => {
    await eventually(() => (t.inputs('openReviewTasks').length > 0 ? true : undefined));
    return t.inputs('assignReviewTasks')[0]!.assignments;
  };
  const answer = (t: Scope, taskId: string, reviewer: string, choice: string) =>
    tier.client.workflow
      .getHandle(workflowIds.rlhfRound(t.key, 1))
      .executeUpdate(reviewAnswerUpdate, { args: [{ taskId, reviewer, choice }] });
  const answerAll = (t: Scope, assignments: readonly Assignment[], choose: (task: string, r: string) => string) =>
    Promise.all(assignments.flatMap((a) => a.reviewers.map((r) => answer(t, a.taskId, r, choose(a.taskId, r)))));

  it('assigns every task to answersPerItem bonded reviewers, refuses what it must, and settles once all answered', async () => {
    const t = tier.scope(uniqueId('round'));
    t.mock({
      reviewerPool: () => ({ minBond: '100', seed: 'seed', reviewers: pool(['r1', 'r2', 'r3']) }),
      settleStakedRound: () => ({
        preferences: [{ prompt: 'prompt 0', chosen: 'spam', rejected: 'ham', weight: 1 }],
        summary: { answers: 6, rewarded: 6, penalised: [] },
      }),
    });
    const h = await start(t);
    const assignments = await opened(t);
    const taskIds = [`${t.key}-r1-p0`, `${t.key}-r1-p1`];
    expect(assignments.map((a) => a.taskId).sort()).toEqual(taskIds);
    for (const a of assignments) expect([...a.reviewers].sort()).toEqual(['r1', 'r2', 'r3']);
    expect(t.inputs('assignReviewTasks')[0]!.extension).toBe(false);
    expect(t.inputs('openReviewTasks').map((a) => [...a.taskIds].sort())).toEqual([taskIds]);
    expect(t.inputs('generateCandidates')).toEqual([
      expect.objectContaining({ count: 2, candidatesPerPrompt: 2, seed: 1, trainer: 'embedded' }),
    ]);

    const [p0] = taskIds as [string, string];
    expect(await refusal(answer(t, p0, 'stranger', 'spam'))).toBe(`review task ${p0} is not assigned to stranger`);
    expect(await refusal(answer(t, p0, 'r1', 'eggs'))).toMatch(/"eggs" is not one of the candidates: spam, ham/);
    expect(await refusal(answer(t, `${t.key}-r1-nope`, 'r1', 'spam'))).toMatch(/is not part of this round/);
    await answer(t, p0, 'r1', 'spam');
    expect(await refusal(answer(t, p0, 'r1', 'ham'))).toBe(`r1 has already answered review task ${p0}`);
    expect((await h.query(roundStatusQuery)).tasks).toEqual(
      expect.arrayContaining([{ id: p0, answers: 1, required: 3 }]),
    );

    const rest = assignments.map((a) =>
      a.taskId === p0 ? { ...a, reviewers: a.reviewers.filter((r) => r !== 'r1') } : a,
    );
    await answerAll(t, rest, () => 'spam');
    const summary = await h.result();
    // Answers carry the bond the round snapshotted.
    expect(t.inputs('recordReviewAnswer')).toHaveLength(6);
    for (const a of t.inputs('recordReviewAnswer')) expect(a.weight).toBe(STAKE);
    expect(t.inputs('settleStakedRound').map((a) => [...a.taskIds].sort())).toEqual([taskIds]);
    expect(t.inputs('settleStakedRound')).toMatchObject([
      {
        proposalId: t.key,
        round: 1,
        reviewers: pool(['r1', 'r2', 'r3']),
        assignments,
        extended: 0,
      },
    ]);
    expect(t.inputs('preferenceUpdate')).toEqual([
      expect.objectContaining({
        jobId: `${t.key}-rlhf-r1`,
        policyArtifactKey: 'staging/policy.bin',
        referenceArtifactKey: 'staging/reference.bin',
        preferences: [{ prompt: 'prompt 0', chosen: 'spam', rejected: 'ham', weight: 1 }],
        trainer: 'embedded',
      }),
    ]);
    expect(summary).toMatchObject({ round: 1, tasks: 2, answers: 6, applied: true });
    expect(summary.artifactKey).toBe(`staging/${t.key}/rlhf-r1/model.bin`);
    expect(t.inputs('recordRound')).toEqual([
      expect.objectContaining({ proposalId: t.key, round: 1, artifactKey: summary.artifactKey }),
    ]);
  });

  it('closes at the deadline with answers missing, and keeps the policy when no preference came out', async () => {
    const t = tier.scope(uniqueId('deadline'));
    t.mock({ reviewerPool: () => ({ minBond: '100', seed: 'seed', reviewers: pool(['r1', 'r2', 'r3']) }) });
    const began = Date.now();
    const summary = await (await start(t, { roundDeadlineMs: 500 })).result();
    expect(Date.now() - began).toBeGreaterThanOrEqual(500);
    expect(t.inputs('settleStakedRound')).toHaveLength(1);
    expect(t.inputs('preferenceUpdate')).toEqual([]);
    expect(summary).toMatchObject({ artifactKey: 'staging/policy.bin', metrics: GOOD_METRICS, applied: true });
  });

  it('discards an update that lowers held-out accuracy beyond maxEvalDrop', async () => {
    const t = tier.scope(uniqueId('regress'));
    t.mock({
      settleStakedRound: () => ({
        preferences: [{ prompt: 'p', chosen: 'spam', rejected: 'ham', weight: 1 }],
        summary: { answers: 0, rewarded: 0, penalised: [] },
      }),
      preferenceUpdate: () => ({ artifactKey: 'staging/worse.bin', metrics: { ...GOOD_METRICS, accuracy: 0.8 } }),
    });
    const summary = await (await start(t, { maxEvalDrop: 0.05 })).result();
    expect(summary).toMatchObject({ applied: false, artifactKey: 'staging/policy.bin', metrics: GOOD_METRICS });
    expect(t.inputs('recordRound')).toMatchObject([
      {
        artifactKey: 'staging/policy.bin',
        summary: {
          applied: false,
          candidate: { artifactKey: 'staging/worse.bin', metrics: { ...GOOD_METRICS, accuracy: 0.8 } },
        },
      },
    ]);
  });

  it('extends a low-agreement item to extra reviewers once, and waits for their answers', async () => {
    const t = tier.scope(uniqueId('extension'));
    t.mock({ reviewerPool: () => ({ minBond: '100', seed: 'seed', reviewers: pool(['r1', 'r2', 'r3', 'r4', 'r5']) }) });
    const h = await start(t, { extraReviewers: 2, lowAgreementSupport: 0.75, maxTasksPerReviewer: 10 });
    const assignments = await opened(t);
    const split = `${t.key}-r1-p0`;
    // p0 splits 2:1 (support 0.67 < 0.75); p1 is unanimous.
    const first = assignments.find((a) => a.taskId === split)!.reviewers[0];
    await answerAll(t, assignments, (task, r) => (task === split && r === first ? 'ham' : 'spam'));
    await eventually(() => (t.inputs('assignReviewTasks').length === 2 ? true : undefined));
    const extension = t.inputs('assignReviewTasks')[1]!;
    expect(extension.extension).toBe(true);
    expect(extension.assignments).toHaveLength(1);
    const extra = extension.assignments[0]!;
    expect(extra.taskId).toBe(split);
    expect(extra.reviewers).toHaveLength(2);
    const already = assignments.find((a) => a.taskId === split)!.reviewers;
    for (const r of extra.reviewers) expect(already).not.toContain(r);
    // The round is still open for them: settlement waits.
    expect((await h.query(roundStatusQuery)).open).toBe(true);
    expect(t.inputs('settleStakedRound')).toEqual([]);
    await answerAll(t, [extra], () => 'spam');
    await h.result();
    expect(t.inputs('settleStakedRound')).toEqual([
      expect.objectContaining({ extended: 1, assignments: [...assignments, extra] }),
    ]);
  });

  it('extends an item a whale bond splits against the others, as settlement weighs it', async () => {
    const t = tier.scope(uniqueId('whale'));
    const reviewers = [
      ...pool(['r1', 'r2', 'r3', 'r4']),
      { reviewer: 'whale', stake: (10n ** 12n).toString(), paused: false, goldCorrect: 0, goldAnswered: 0 },
    ];
    t.mock({ reviewerPool: () => ({ minBond: '100', seed: 'seed', reviewers }) });
    const h = await start(t, { extraReviewers: 1, lowAgreementSupport: 0.75, maxTasksPerReviewer: 10 });
    const assignments = await opened(t);
    // The whale is on every item; it answers against the two others everywhere.
    for (const a of assignments) expect(a.reviewers).toContain('whale');
    await answerAll(t, assignments, (_, r) => (r === 'whale' ? 'ham' : 'spam'));
    await eventually(() => (t.inputs('assignReviewTasks').length === 2 ? true : undefined));
    const extension = t.inputs('assignReviewTasks')[1]!;
    expect(extension.assignments.map((a) => a.taskId).sort()).toEqual(assignments.map((a) => a.taskId).sort());
    await answerAll(t, extension.assignments, () => 'spam');
    await h.result();
  });

  it('draws paused reviewers on top of the active draw; their answers weigh 0 and never trigger an extension', async () => {
    const t = tier.scope(uniqueId('paused'));
    const reviewers = pool(['r1', 'r2', 'r3'], ['p1']);
    t.mock({ reviewerPool: () => ({ minBond: '100', seed: 'seed', reviewers }) });
    const h = await start(t, { extraReviewers: 2, lowAgreementSupport: 0.75 });
    const assignments = await opened(t);
    // Every task keeps its three active reviewers; the paused one comes on top.
    const byTask = new Map<string, string[]>();
    for (const a of assignments) byTask.set(a.taskId, [...(byTask.get(a.taskId) ?? []), ...a.reviewers]);
    for (const rs of byTask.values()) expect(rs.filter((r) => r !== 'p1').sort()).toEqual(['r1', 'r2', 'r3']);
    expect([...byTask.values()].some((rs) => rs.includes('p1'))).toBe(true);
    // The paused reviewer dissents everywhere: the active stake is unanimous, so nothing is extended.
    await answerAll(t, assignments, (_, r) => (r === 'p1' ? 'ham' : 'spam'));
    await h.result();
    const weights = t.inputs('recordReviewAnswer').map((a) => [a.reviewer, a.weight]);
    expect(weights.filter(([r]) => r === 'p1').every(([, w]) => w === '0')).toBe(true);
    expect(weights.filter(([r]) => r !== 'p1').every(([, w]) => w === STAKE)).toBe(true);
    expect(t.inputs('assignReviewTasks')).toHaveLength(1);
    expect(t.inputs('settleStakedRound')).toEqual([expect.objectContaining({ reviewers, assignments, extended: 0 })]);
  });

  it('draws on the seed committed when the round opened and derived when enlistment closed, not on the workflow id', async () => {
    const t = tier.scope(uniqueId('seeded'));
    const reviewers = pool(['r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    let committed = false;
    t.mock({
      commitRoundSeed: () => {
        committed = true;
        return { commitment: 'c0ffee' };
      },
      // The pool closes enlistment only after the commitment: without it the round would fail on no seed.
      reviewerPool: () => ({ minBond: '100', reviewers, ...(committed ? { seed: 'a1b2c3' } : {}) }),
    });
    await (await start(t, { answersPerItem: 2, goldPerRound: 1, roundDeadlineMs: 300 })).result();
    expect(t.inputs('commitRoundSeed')).toEqual([{ proposalId: t.key, round: 1 }]);
    expect(t.inputs('reviewerPool')).toEqual([{ proposalId: t.key, round: 1 }]);
    expect(t.inputs('pickGoldItems')).toEqual([expect.objectContaining({ seed: 'a1b2c3' })]);
    const taskIds = t.inputs('createReviewTasks')[0]!.items.map((i) => `${t.key}-r1-${i.promptId}`);
    expect(t.inputs('assignReviewTasks')[0]!.assignments).toEqual(
      assignTasks({
        taskIds,
        reviewers: reviewers.map((r) => ({ reviewer: r.reviewer, stake: BigInt(r.stake), paused: r.paused })),
        perTask: 2,
        capPerReviewer: RLHF.maxTasksPerReviewer,
        seed: 'a1b2c3',
      }),
    );
  });

  it('a generation round compares two answers per prompt and mixes in no gold', async () => {
    const t = tier.scope(uniqueId('generation'));
    await (await start(t, { candidatesPerPrompt: 4, goldPerRound: 3 }, { task: 'generation' })).result();
    expect(t.inputs('generateCandidates')).toEqual([expect.objectContaining({ candidatesPerPrompt: 2 })]);
    expect(t.inputs('pickGoldItems')).toEqual([expect.objectContaining({ count: 0 })]);
  });
});
