import { condition, setHandler, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
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
}

/**
 * One RLHF round: candidates for held-out prompts on gpu-rlhf, review tasks answered by reviewers
 * and validators through Updates, stake-weighted consensus with rewards and penalties, then a
 * DPO preference update and an evaluation.
 */
export async function rlhfRoundWorkflow(input: RlhfRoundInput): Promise<RlhfRoundSummary> {
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

  // The round is evaluated: an update that lowers held-out accuracy (generation: mean token-F1
  // against the reference responses) by more than maxEvalDrop is not kept.
  const applied = updated.metrics.accuracy >= input.policyMetrics.accuracy - p.maxEvalDrop;
  const kept = applied ? updated : { artifactKey: input.policyArtifactKey, metrics: input.policyMetrics };
  const summary = {
    ...settled.summary,
    applied,
    candidate: { artifactKey: updated.artifactKey, metrics: updated.metrics },
  };
  await lifecycle.recordRound({
    proposalId: input.proposalId,
    round: input.round,
    artifactKey: kept.artifactKey,
    metrics: kept.metrics,
    summary,
  });
  return {
    round: input.round,
    tasks: tasks.size,
    answers: settled.summary.answers,
    artifactKey: kept.artifactKey,
    metrics: kept.metrics,
    rewarded: settled.summary.rewarded,
    penalised: settled.summary.penalised,
    applied,
  };
}
