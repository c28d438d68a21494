import {
  ApplicationFailure,
  condition,
  patched,
  setHandler,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import { assignPausedReviewers, assignTasks, type Assignment } from '../domain/rlhf/assignment.js';
import { extendAssignments, lowAgreementItems, shuffleTasks, type RoundAnswer } from '../domain/rlhf/review-round.js';
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
  /** Attempts per GPU job. */
  maxAttempts: number;
  /** The proposal's trainer kind: it generates candidates and runs the preference update, as it trained. */
  trainer: string;
  /** The proposal's task. Generation rounds compare two answers per prompt. */
  task: TaskType;
}

interface OpenTask {
  id: string;
  candidates: string[];
  answers: Set<string>;
  /** Who may answer (assignments), their answers (sealed until settlement), gold. */
  assigned: Set<string>;
  choices: RoundAnswer[];
  gold: boolean;
}

/**
 * One RLHF round on staked review. Candidates for held-out prompts (gpu-rlhf) and gold items
 * (known answers from the held-out set, in a seeded order among the others) become tasks; the
 * bonded reviewer pool is snapshotted and each task is drawn `answersPerItem` reviewers by stake
 * (assignTasks, capped per reviewer). The draws (gold items, task order, assignment, extension) are
 * seeded by randomness the round commits to when it opens and reveals at settlement, mixed with the
 * pool recorded when enlistment closes (domain/rlhf/round-seed.ts), so nobody choosing a workflow id
 * or an enlistment can steer them; rounds started before that are seeded by the workflow id. Only assigned reviewers may
 * answer, once each, through Updates; answers stay sealed (the API and the status query show
 * counts only) until settlement. Items without a clear stake majority then get up to
 * `extraReviewers` more reviewers for `extensionMs`, once. Settlement applies settleReviewRound
 * with the snapshot, so a retry pays the same; a DPO preference update and an evaluation follow.
 *
 * Paused reviewers are drawn by the same rule on top of the active draw (assignPausedReviewers),
 * an ordinary mix with gold among it. Their answers weigh 0 (the extension's support ignores them)
 * and settlement counts only their gold answers, so they can recover.
 */
/** The draws' seed is committed when the round opens and derived when enlistment closes. */
export const COMMITTED_SEED_PATCH = 'review-draw-committed-seed';
/** The extension weighs answers as settlement does: each bond bounded by the others on the item. */
export const BOUNDED_WEIGHT_PATCH = 'review-extension-bounded-weight';

export async function rlhfRoundWorkflow(input: RlhfRoundInput): Promise<RlhfRoundSummary> {
  const p = input.params;
  const gpu = rlhfActivities(input.heartbeatTimeoutMs, input.maxAttempts);
  const { workflowId } = workflowInfo();
  const committedSeed = patched(COMMITTED_SEED_PATCH);
  let seed = `${workflowId}:${input.round}`;
  const tasks = new Map<string, OpenTask>();
  let open = false;
  let pending = 0;
  let stakes = new Map<string, bigint>();
  /** Reviewers whose answers weigh 0 this round (paused at the snapshot). */
  let weightless = new Set<string>();

  setHandler(
    reviewAnswerUpdate,
    async ({ taskId, reviewer, choice }) => {
      const task = tasks.get(taskId)!;
      task.answers.add(reviewer);
      task.choices.push({ reviewer, choice });
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
        if (!task.assigned.has(reviewer)) throw new Error(`review task ${taskId} is not assigned to ${reviewer}`);
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
    tasks: [...tasks.values()].map((t) => ({ id: t.id, answers: t.answers.size, required: t.assigned.size })),
  }));

  if (committedSeed) {
    const { commitment } = await lifecycle.commitRoundSeed({ proposalId: input.proposalId, round: input.round });
    setCurrentDetails(`Round ${input.round}: draw committed to ${commitment}`);
  }
  setCurrentDetails(`Round ${input.round}: generating candidates`);
  const generative = input.task === 'generation';
  const generated = await gpu.generateCandidates({
    artifactKey: input.policyArtifactKey,
    evalManifestKey: input.evalManifestKey,
    count: p.promptsPerRound,
    // Pairwise preference for generative models: reviewers compare two answers per prompt.
    candidatesPerPrompt: generative ? 2 : p.candidatesPerPrompt,
    seed: input.round,
    // The proposal's trainer generates, as it trained.
    trainer: input.trainer,
  });
  // Enlistment closes here for a committed-seed round: the draws that follow use its seed.
  const drawn = committedSeed
    ? await lifecycle.reviewerPool({ proposalId: input.proposalId, round: input.round })
    : undefined;
  if (drawn) {
    if (drawn.seed === undefined)
      throw ApplicationFailure.nonRetryable(`round ${input.round} of ${input.proposalId} drew no seed`);
    seed = drawn.seed;
  }
  const gold = await lifecycle.pickGoldItems({
    evalManifestKey: input.evalManifestKey,
    // Gold items are labelled held-out records: a generation round has none to offer.
    count: generative ? 0 : p.goldPerRound,
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
  const pool = drawn ?? (await lifecycle.reviewerPool({ proposalId: input.proposalId }));
  const reviewers: PoolReviewer[] = pool.reviewers;
  stakes = new Map(reviewers.map((r) => [r.reviewer, BigInt(r.stake)]));
  const assignable = reviewers.map((r) => ({ reviewer: r.reviewer, stake: BigInt(r.stake), paused: r.paused }));
  const draw = {
    taskIds: created.map((t) => t.id),
    reviewers: assignable,
    perTask: p.answersPerItem,
    capPerReviewer: p.maxTasksPerReviewer,
    seed,
  };
  const assignments: Assignment[] = assignTasks(draw);
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
  const paused: Assignment[] = assignPausedReviewers(draw);
  weightless = new Set(assignable.filter((r) => r.paused).map((r) => r.reviewer));
  for (const x of [...assignments, ...paused]) for (const r of x.reviewers) tasks.get(x.taskId)!.assigned.add(r);
  await lifecycle.assignReviewTasks({ assignments: [...assignments, ...paused], extension: false });
  open = true;
  await lifecycle.openReviewTasks({ taskIds: [...tasks.keys()] });
  setCurrentDetails(`Round ${input.round}: ${tasks.size} review tasks open to ${stakes.size} bonded reviewers`);

  const allAnswered = () => [...tasks.values()].every((t) => t.answers.size >= t.assigned.size);
  await condition(() => allAnswered() && pending === 0, p.roundDeadlineMs);
  await condition(() => pending === 0);

  // The bounded extension: extra reviewers for items without a clear stake majority.
  const low = lowAgreementItems({
    items: [...tasks.values()].map((t) => ({ id: t.id, candidates: t.candidates, gold: t.gold })),
    answers: new Map([...tasks.values()].map((t) => [t.id, t.choices.filter((x) => !weightless.has(x.reviewer))])),
    stakes,
    minSupport: p.lowAgreementSupport,
    ...(patched(BOUNDED_WEIGHT_PATCH)
      ? {
          assigned: new Map([...tasks.values()].map((t) => [t.id, [...t.assigned].filter((r) => !weightless.has(r))])),
        }
      : {}),
  });
  const extra =
    low.length > 0 && p.extraReviewers > 0
      ? extendAssignments({
          itemIds: low,
          assignments,
          reviewers: assignable.filter((r) => !r.paused),
          extra: p.extraReviewers,
          cap: p.maxTasksPerReviewer,
          seed,
        })
      : [];
  if (extra.length > 0) {
    for (const x of extra) for (const r of x.reviewers) tasks.get(x.taskId)!.assigned.add(r);
    await lifecycle.assignReviewTasks({ assignments: extra, extension: true });
    setCurrentDetails(`Round ${input.round}: ${extra.length} low-agreement items extended`);
    await condition(() => allAnswered() && pending === 0, p.extensionMs);
  }
  open = false;
  await condition(() => pending === 0);

  setCurrentDetails(`Round ${input.round}: settling the stake consensus`);
  const settled = await lifecycle.settleStakedRound({
    proposalId: input.proposalId,
    round: input.round,
    taskIds: [...tasks.keys()],
    reviewers: reviewers.filter((r) => [...tasks.values()].some((t) => t.assigned.has(r.reviewer))),
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
          trainer: input.trainer,
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
