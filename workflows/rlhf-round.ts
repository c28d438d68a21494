import { condition, patched, setHandler, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import { assignPausedReviewers, assignTasks, type Assignment } from '../domain/rlhf/assignment.js';
import {
  DEFAULT_ROUND_SHAPE,
  extendAssignments,
  lowAgreementItems,
  shuffleTasks,
  type RoundAnswer,
} from '../domain/rlhf/review-round.js';
import type { PoolReviewer } from '../activities/rlhf/staked-review.js';
import { reviewAnswerUpdate, roundStatusQuery } from '../contracts/messages.js';
import { lifecycle, rlhfActivities } from './activity-proxies.js';
import type {
  EvalMetrics,
  Hyperparams,
  LifecycleParams,
  ReviewAnswerInput,
  RlhfRoundSummary,
  TaskType,
} from '../domain/lifecycle/types.js';

export interface RlhfRoundInput {
  proposalId: string;
  modelName: string;
  round: number;
  policyArtifactKey: string;
  /** Held-out metrics of the policy, reported as-is when a round yields no preferences. */
  policyMetrics: EvalMetrics;
  referenceArtifactKey: string;
  evalManifestKey: string;
  params: LifecycleParams['rlhf'];
  hyperparams: Hyperparams;
  heartbeatTimeoutMs: number;
  /** Attempts per GPU job (absent in rounds started before it existed: 10). */
  maxAttempts?: number;
  /** The proposal's trainer kind (absent in rounds started before it was passed on: embedded). */
  trainer?: string;
  /** The proposal's task (absent: classification). Generation rounds compare two answers per prompt. */
  task?: TaskType;
}

interface OpenTask {
  id: string;
  candidates: string[];
  answers: Set<string>;
  /** Staked rounds: who may answer (assignments), their answers (sealed until settlement), gold. */
  assigned?: Set<string>;
  choices?: RoundAnswer[];
  gold?: boolean;
}

/**
 * One RLHF round: candidates for held-out prompts on gpu-rlhf, review tasks answered by reviewers
 * and validators through Updates, stake-weighted consensus with rewards and penalties, then a
 * DPO preference update and an evaluation.
 */
export async function rlhfRoundWorkflow(input: RlhfRoundInput): Promise<RlhfRoundSummary> {
  // Staked review (issue 15): bonded reviewers, assigned tasks, sealed answers, gold items,
  // stake-majority settlement. Rounds that started before it replay the open round below.
  if (patched('rlhf-staked-review')) return stakedRound(input);
  const p = input.params;
  const gpu = rlhfActivities(input.heartbeatTimeoutMs, input.maxAttempts);
  const tasks = new Map<string, OpenTask>();
  let open = false;
  let pending = 0;

  setHandler(
    reviewAnswerUpdate,
    async ({ taskId, reviewer, choice }) => {
      const task = tasks.get(taskId)!;
      task.answers.add(reviewer);
      pending++;
      try {
        await lifecycle.recordReviewAnswer({ taskId, reviewer, choice });
      } finally {
        pending--;
      }
      return { accepted: true as const, answers: task.answers.size };
    },
    {
      validator: ({ taskId, reviewer, choice }: ReviewAnswerInput) => {
        const task = tasks.get(taskId);
        if (!task) throw new Error(`review task ${taskId} is not part of this round`);
        if (!open) throw new Error(`review task ${taskId} is closed`);
        if (!task.candidates.includes(choice))
          throw new Error(
            `choice ${JSON.stringify(choice)} is not one of the candidates: ${task.candidates.join(', ')}`,
          );
        if (task.answers.has(reviewer)) throw new Error(`${reviewer} has already answered review task ${taskId}`);
      },
    },
  );
  setHandler(roundStatusQuery, () => ({
    round: input.round,
    open,
    tasks: [...tasks.values()].map((t) => ({ id: t.id, answers: t.answers.size, required: p.answersPerItem })),
  }));

  setCurrentDetails(`Round ${input.round}: generating candidates`);
  const candidates = await gpu.generateCandidates({
    artifactKey: input.policyArtifactKey,
    evalManifestKey: input.evalManifestKey,
    count: p.promptsPerRound,
    // Pairwise preference for generative models: reviewers compare two answers per prompt.
    candidatesPerPrompt: input.task === 'generation' ? 2 : p.candidatesPerPrompt,
    seed: input.round,
    ...(input.trainer ? { trainer: input.trainer } : {}),
  });
  const created = await lifecycle.createReviewTasks({
    proposalId: input.proposalId,
    round: input.round,
    workflowId: workflowInfo().workflowId,
    requiredAnswers: p.answersPerItem,
    items: candidates,
  });
  for (const t of created) tasks.set(t.id, { id: t.id, candidates: t.candidates, answers: new Set() });
  open = true;
  await lifecycle.openReviewTasks({ taskIds: [...tasks.keys()] });
  setCurrentDetails(`Round ${input.round}: ${tasks.size} review tasks open`);

  const complete = () => [...tasks.values()].every((t) => t.answers.size >= p.answersPerItem);
  await condition(() => complete() && pending === 0, p.roundDeadlineMs);
  open = false;
  await condition(() => pending === 0);

  setCurrentDetails(`Round ${input.round}: settling consensus`);
  const settled = await lifecycle.settleRound({
    proposalId: input.proposalId,
    round: input.round,
    taskIds: [...tasks.keys()],
    agreementReward: p.agreementReward,
    disagreementPenalty: p.disagreementPenalty,
    disagreementTolerance: p.disagreementTolerance,
  });

  // The same update, no-regression check and round record as a staked round: the same commands.
  return finishRound(input, gpu, tasks.size, settled);
}

/**
 * A staked round. Candidates and gold items (known answers from the held-out set, in a seeded
 * order among the others) become tasks; the bonded reviewer pool is snapshotted and each task is
 * drawn `answersPerItem` reviewers by stake (assignTasks, seeded by the workflow id, capped per
 * reviewer). Only assigned reviewers may answer, once each; answers stay sealed (the API and the
 * status query show counts only) until settlement. Items without a clear stake majority then get
 * up to `extraReviewers` more reviewers for `extensionMs`, once. Settlement applies
 * settleReviewRound with the snapshot, so a retry pays the same.
 *
 * Paused reviewers (`rlhf-paused-review`; rounds started before it never assign them, so a pause
 * was permanent): drawn by the same rule on top of the active draw (assignPausedReviewers), an
 * ordinary mix with gold among it. Their answers weigh 0 (the extension's support ignores them)
 * and settlement counts only their gold answers, so they can recover.
 */
async function stakedRound(input: RlhfRoundInput): Promise<RlhfRoundSummary> {
  const probation = patched('rlhf-paused-review');
  const p = input.params;
  const shape = {
    maxTasksPerReviewer: p.maxTasksPerReviewer ?? DEFAULT_ROUND_SHAPE.maxTasksPerReviewer,
    goldPerRound: p.goldPerRound ?? DEFAULT_ROUND_SHAPE.goldPerRound,
    lowAgreementSupport: p.lowAgreementSupport ?? DEFAULT_ROUND_SHAPE.lowAgreementSupport,
    extraReviewers: p.extraReviewers ?? DEFAULT_ROUND_SHAPE.extraReviewers,
    extensionMs: p.extensionMs ?? DEFAULT_ROUND_SHAPE.extensionMs,
  };
  const gpu = rlhfActivities(input.heartbeatTimeoutMs, input.maxAttempts);
  const { workflowId } = workflowInfo();
  const seed = `${workflowId}:${input.round}`;
  const tasks = new Map<string, OpenTask>();
  let open = false;
  let pending = 0;
  let stakes = new Map<string, bigint>();
  /** Reviewers whose answers weigh 0 this round (paused at the snapshot, `rlhf-paused-review`). */
  let weightless = new Set<string>();

  setHandler(
    reviewAnswerUpdate,
    async ({ taskId, reviewer, choice }) => {
      const task = tasks.get(taskId)!;
      task.answers.add(reviewer);
      task.choices!.push({ reviewer, choice });
      pending++;
      try {
        await lifecycle.recordReviewAnswer({
          taskId,
          reviewer,
          choice,
          weight: (weightless.has(reviewer) ? 0n : (stakes.get(reviewer) ?? 0n)).toString(),
        });
      } finally {
        pending--;
      }
      return { accepted: true as const, answers: task.answers.size };
    },
    {
      validator: ({ taskId, reviewer, choice }: ReviewAnswerInput) => {
        const task = tasks.get(taskId);
        if (!task) throw new Error(`review task ${taskId} is not part of this round`);
        if (!open) throw new Error(`review task ${taskId} is closed`);
        if (!task.assigned?.has(reviewer)) throw new Error(`review task ${taskId} is not assigned to ${reviewer}`);
        if (!task.candidates.includes(choice))
          throw new Error(
            `choice ${JSON.stringify(choice)} is not one of the candidates: ${task.candidates.join(', ')}`,
          );
        if (task.answers.has(reviewer)) throw new Error(`${reviewer} has already answered review task ${taskId}`);
      },
    },
  );
  setHandler(roundStatusQuery, () => ({
    round: input.round,
    open,
    tasks: [...tasks.values()].map((t) => ({ id: t.id, answers: t.answers.size, required: t.assigned?.size ?? 0 })),
  }));

  setCurrentDetails(`Round ${input.round}: generating candidates`);
  const generative = input.task === 'generation';
  const generated = await gpu.generateCandidates({
    artifactKey: input.policyArtifactKey,
    evalManifestKey: input.evalManifestKey,
    count: p.promptsPerRound,
    // Pairwise preference for generative models: reviewers compare two answers per prompt.
    candidatesPerPrompt: generative ? 2 : p.candidatesPerPrompt,
    seed: input.round,
    // The proposal's trainer generates, as it trained (absent in rounds started before: embedded).
    ...(input.trainer ? { trainer: input.trainer } : {}),
  });
  const gold = await lifecycle.pickGoldItems({
    evalManifestKey: input.evalManifestKey,
    // Gold items are labelled held-out records: a generation round has none to offer.
    count: generative ? 0 : shape.goldPerRound,
    candidatesPerPrompt: p.candidatesPerPrompt,
    excludePromptIds: generated.map((g) => g.promptId),
    seed,
  });
  const created = await lifecycle.createReviewTasks({
    proposalId: input.proposalId,
    round: input.round,
    workflowId,
    requiredAnswers: p.answersPerItem,
    items: shuffleTasks([...generated, ...gold], seed),
  });
  const pool = await lifecycle.reviewerPool({ proposalId: input.proposalId });
  const reviewers: PoolReviewer[] = pool.reviewers;
  stakes = new Map(reviewers.map((r) => [r.reviewer, BigInt(r.stake)]));
  const assignable = reviewers.map((r) => ({ reviewer: r.reviewer, stake: BigInt(r.stake), paused: r.paused }));
  const assignments: Assignment[] = assignTasks({
    taskIds: created.map((t) => t.id),
    reviewers: assignable,
    perTask: p.answersPerItem,
    capPerReviewer: shape.maxTasksPerReviewer,
    seed,
  });
  for (const t of created)
    tasks.set(t.id, {
      id: t.id,
      candidates: t.candidates,
      answers: new Set(),
      assigned: new Set(),
      choices: [],
      gold: t.gold === true,
    });
  // Paused reviewers on top of the active draw: they take no active slot, so coverage is unchanged.
  const paused: Assignment[] = probation
    ? assignPausedReviewers({
        taskIds: created.map((t) => t.id),
        reviewers: assignable,
        perTask: p.answersPerItem,
        capPerReviewer: shape.maxTasksPerReviewer,
        seed,
      })
    : [];
  if (probation) weightless = new Set(assignable.filter((r) => r.paused).map((r) => r.reviewer));
  for (const x of [...assignments, ...paused]) for (const r of x.reviewers) tasks.get(x.taskId)!.assigned!.add(r);
  await lifecycle.assignReviewTasks({
    assignments: probation ? [...assignments, ...paused] : assignments,
    extension: false,
  });
  open = true;
  await lifecycle.openReviewTasks({ taskIds: [...tasks.keys()] });
  setCurrentDetails(`Round ${input.round}: ${tasks.size} review tasks open to ${stakes.size} bonded reviewers`);

  const allAnswered = () => [...tasks.values()].every((t) => t.answers.size >= (t.assigned?.size ?? 0));
  await condition(() => allAnswered() && pending === 0, p.roundDeadlineMs);
  await condition(() => pending === 0);

  // The bounded extension: extra reviewers for items without a clear stake majority.
  const low = lowAgreementItems({
    items: [...tasks.values()].map((t) => ({ id: t.id, candidates: t.candidates, gold: t.gold === true })),
    answers: new Map(
      [...tasks.values()].map((t) => [t.id, (t.choices ?? []).filter((x) => !weightless.has(x.reviewer))]),
    ),
    stakes,
    minSupport: shape.lowAgreementSupport,
  });
  const extra =
    low.length > 0 && shape.extraReviewers > 0
      ? extendAssignments({
          itemIds: low,
          assignments,
          reviewers: assignable.filter((r) => !r.paused),
          extra: shape.extraReviewers,
          cap: shape.maxTasksPerReviewer,
          seed,
        })
      : [];
  if (extra.length > 0) {
    for (const x of extra) for (const r of x.reviewers) tasks.get(x.taskId)!.assigned!.add(r);
    await lifecycle.assignReviewTasks({ assignments: extra, extension: true });
    setCurrentDetails(`Round ${input.round}: ${extra.length} low-agreement items extended`);
    await condition(() => allAnswered() && pending === 0, shape.extensionMs);
  }
  open = false;
  await condition(() => pending === 0);

  setCurrentDetails(`Round ${input.round}: settling the stake consensus`);
  const settled = await lifecycle.settleStakedRound({
    proposalId: input.proposalId,
    round: input.round,
    taskIds: [...tasks.keys()],
    reviewers: reviewers.filter((r) => [...tasks.values()].some((t) => t.assigned?.has(r.reviewer))),
    assignments: [...assignments, ...paused, ...extra],
    extended: extra.length,
  });
  return finishRound(input, gpu, tasks.size, settled);
}

/** The DPO update on the consensus preferences, the no-regression check and the round record. */
async function finishRound(
  input: RlhfRoundInput,
  gpu: ReturnType<typeof rlhfActivities>,
  taskCount: number,
  settled: {
    preferences: Parameters<ReturnType<typeof rlhfActivities>['preferenceUpdate']>[0]['preferences'];
    summary: { answers: number; rewarded: number; penalised: string[] } & Record<string, unknown>;
  },
): Promise<RlhfRoundSummary> {
  const p = input.params;
  setCurrentDetails(`Round ${input.round}: preference update on ${settled.preferences.length} pairs`);
  const updated =
    settled.preferences.length > 0
      ? await gpu.preferenceUpdate({
          jobId: `${input.proposalId}-rlhf-r${input.round}`,
          modelName: input.modelName,
          policyArtifactKey: input.policyArtifactKey,
          referenceArtifactKey: input.referenceArtifactKey,
          preferences: settled.preferences,
          evalManifestKey: input.evalManifestKey,
          beta: p.beta,
          hyperparams: { ...input.hyperparams, learningRate: p.learningRate, epochs: p.epochs },
          outputPrefix: `staging/${input.proposalId}/rlhf-r${input.round}`,
          ...(input.trainer ? { trainer: input.trainer } : {}),
        })
      : { artifactKey: input.policyArtifactKey, metrics: input.policyMetrics };
  const applied = updated.metrics.accuracy >= input.policyMetrics.accuracy - p.maxEvalDrop;
  const kept = applied ? updated : { artifactKey: input.policyArtifactKey, metrics: input.policyMetrics };
  await lifecycle.recordRound({
    proposalId: input.proposalId,
    round: input.round,
    artifactKey: kept.artifactKey,
    metrics: kept.metrics,
    summary: { ...settled.summary, applied, candidate: { artifactKey: updated.artifactKey, metrics: updated.metrics } },
  });
  return {
    round: input.round,
    tasks: taskCount,
    answers: settled.summary.answers,
    artifactKey: kept.artifactKey,
    metrics: kept.metrics,
    rewarded: settled.summary.rewarded,
    penalised: settled.summary.penalised,
    applied,
  };
}
