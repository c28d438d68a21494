import {
  CancellationScope,
  executeChild,
  isCancellation,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  condition,
  allHandlersFinished,
  ParentClosePolicy,
  ApplicationFailure,
  patched,
} from '@temporalio/workflow';
import { endingFor } from '../domain/lifecycle/compensation.js';
import { statusQuery } from '../contracts/messages.js';
import { evaluateGate } from '../domain/deployment/gate.js';
import { lifecycle, trainingActivities, trainingOptions } from './activity-proxies.js';
import { runGovernance } from './stages/governance.js';
import { collectionWorkflow } from './collection.js';
import { rlhfRoundWorkflow } from './rlhf-round.js';
import {
  LifecycleStageKey,
  ModelNameKey,
  ProposalIdKey,
  DomainKey,
  LifecycleOutcomeKey,
} from '../contracts/search-attributes.js';
import type {
  LifecycleInput,
  LifecycleStatus,
  LifecycleStatusView,
  Stage,
  EvalMetrics,
} from '../domain/lifecycle/types.js';
import { workflowIds } from '../contracts/workflow-ids.js';

/** Patch id of the LifecycleOutcome search attribute (CONTRIBUTING, "Changing workflow code"). */
const OUTCOME_PATCH = 'lifecycle-outcome-search-attribute';

/**
 * One model's whole life, `lifecycle-<proposalId>`: proposed → governance → data-collection →
 * training → rlhf → deployment → serving. Every side effect is an activity; cancellation or a
 * failure at any stage runs the compensations (escrow refunded by the rule in
 * domain/lifecycle/compensation.ts, Datanet and review tasks closed, no partial promotion).
 */
export async function lifecycleWorkflow(input: LifecycleInput): Promise<LifecycleStatusView> {
  const state: LifecycleStatusView = {
    proposalId: input.proposalId,
    modelName: input.modelName,
    stage: 'proposed',
    status: 'running',
    governance: {},
    collection: {},
    training: {},
    rlhf: { round: 0, rounds: [] },
    deployment: {},
    history: [],
    budget: { asked: input.budget },
  };
  setHandler(statusQuery, () => state);
  upsertSearchAttributes([
    { key: ProposalIdKey, value: input.proposalId },
    { key: ModelNameKey, value: input.modelName },
    { key: DomainKey, value: input.domain },
  ]);

  const enter = async (stage: Stage, details: string) => {
    state.stage = stage;
    state.history.push({ stage, at: Date.now() });
    upsertSearchAttributes([{ key: LifecycleStageKey, value: stage }]);
    upsertMemo({ summary: `${input.modelName}: ${stage}`, stage, status: state.status });
    setCurrentDetails(`**${stage}** — ${details}`);
    // The view rides on the activity that already runs here: the API reads it from Postgres.
    await lifecycle.recordStage({ proposalId: input.proposalId, stage, status: state.status, view: state });
  };
  // Temporal shows most endings as "Completed": the outcome attribute lets the UI filter them.
  // A new command, so workflows started on 1.0 (which never set it) replay without it.
  const recordOutcome = (status: LifecycleStatus) => {
    if (patched(OUTCOME_PATCH)) upsertSearchAttributes([{ key: LifecycleOutcomeKey, value: status }]);
  };
  const finish = async (status: LifecycleStatus, reason: string) => {
    recordOutcome(status);
    upsertMemo({ summary: `${input.modelName}: ${state.stage} (${status})`, stage: state.stage, status, reason });
    setCurrentDetails(`**${state.stage}** — ${status}: ${reason}`);
    await lifecycle.recordStage({ proposalId: input.proposalId, stage: state.stage, status, reason, view: state });
    // The status query shows the final status only once the proposal row has it too, so whoever
    // sees the lifecycle end (the API, the CLI's watch) finds the same status in Postgres.
    state.status = status;
    state.reason = reason;
    await condition(allHandlersFinished);
    return state;
  };

  try {
    await enter('proposed', `stake ${input.params.stake} OPEN in escrow`);
    await lifecycle.escrowStake({ proposalId: input.proposalId, proposer: input.proposer, amount: input.params.stake });

    // Governance
    await enter('governance', 'governors vote with their snapshotted gOPEN power');
    const gov = await runGovernance(input, state.governance);
    if (gov.kind === 'withdrawn') {
      await lifecycle.refundStake({ proposalId: input.proposalId, reason: 'withdrawn by the proposer' });
      return await finish('withdrawn', 'withdrawn by the proposer before governance closed');
    }
    if (gov.outcome === 'vetoed') {
      await lifecycle.slashStake({ proposalId: input.proposalId, reason: 'vetoed' });
      return await finish('vetoed', 'vetoed by governors: stake slashed to the treasury');
    }
    if (gov.outcome !== 'passed') {
      await lifecycle.refundStake({ proposalId: input.proposalId, reason: gov.outcome });
      return await finish(
        gov.outcome,
        gov.outcome === 'expired' ? 'turnout below quorum: stake refunded' : 'rejected by governors: stake refunded',
      );
    }
    // Passing approved the budget: reserve it now, so what the proposal pays for later is paid
    // from its own account and can never exceed it (a treasury that cannot cover it fails the
    // stage and the lifecycle compensates).
    const r = await lifecycle.reserveBudget({ proposalId: input.proposalId, amount: input.budget });
    state.budget = { asked: input.budget, reserved: r.reserved };
    const closeBudget = () => lifecycle.closeBudget({ proposalId: input.proposalId });

    // Data collection (child workflow; its activities run on the data-collection queue)
    await enter('data-collection', 'Datanet open for contributions');
    const datanetId = input.proposalId;
    state.collection.datanetId = datanetId;
    const collected = await executeChild(collectionWorkflow, {
      workflowId: workflowIds.collection(input.proposalId),
      args: [
        {
          proposalId: input.proposalId,
          datanetId,
          modelName: input.modelName,
          domain: input.domain,
          description: input.description,
          labels: input.labels,
          spec: input.datanetSpec,
          params: input.params.collection,
        },
      ],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      typedSearchAttributes: [
        { key: ProposalIdKey, value: input.proposalId },
        { key: ModelNameKey, value: input.modelName },
        { key: LifecycleStageKey, value: 'data-collection' },
      ],
      memo: { summary: `Datanet for ${input.modelName}` },
    });
    Object.assign(state.collection, collected);
    if (collected.accepted < input.params.collection.minAcceptedRecords) {
      await lifecycle.refundStake({ proposalId: input.proposalId, reason: 'not enough accepted data' });
      await closeBudget();
      return await finish(
        'failed-gate',
        `only ${collected.accepted} records accepted, ${input.params.collection.minAcceptedRecords} needed: stake refunded`,
      );
    }

    // Training on the gpu-training queue
    await enter('training', `fine-tuning on ${collected.accepted} accepted records`);
    const t = input.params.training;
    const trained = await trainingActivities(t.heartbeatTimeoutMs, t.maxAttempts).trainModel.executeWithOptions(
      {
        ...trainingOptions(t.heartbeatTimeoutMs, t.maxAttempts),
        summary: `Fine-tune ${input.modelName} (${t.trainer}) on ${collected.accepted} records`,
      },
      [
        {
          proposalId: input.proposalId,
          trainer: t.trainer,
          job: {
            jobId: `${input.proposalId}-train`,
            modelName: input.modelName,
            task: input.task,
            labels: input.labels,
            baseArtifactKey: t.baseArtifactKey,
            datasetManifestKey: collected.manifestKey,
            evalFraction: t.evalFraction,
            hyperparams: t.hyperparams,
            outputPrefix: `staging/${input.proposalId}/train`,
          },
        },
      ],
    );
    state.training = {
      runId: trained.runId,
      artifactKey: trained.artifactKey,
      sha256: trained.sha256,
      metrics: trained.metrics,
      resumedFromStep: trained.resumedFromStep,
    };

    // RLHF rounds, each a child workflow
    await enter('rlhf', `${input.params.rlhf.rounds} review round(s)`);
    let policy = trained.artifactKey;
    let metrics: EvalMetrics = trained.metrics;
    for (let round = 1; round <= input.params.rlhf.rounds; round++) {
      state.rlhf.round = round;
      setCurrentDetails(`**rlhf** — round ${round}/${input.params.rlhf.rounds}`);
      const summary = await executeChild(rlhfRoundWorkflow, {
        workflowId: workflowIds.rlhfRound(input.proposalId, round),
        args: [
          {
            proposalId: input.proposalId,
            modelName: input.modelName,
            round,
            policyArtifactKey: policy,
            policyMetrics: metrics,
            referenceArtifactKey: trained.artifactKey,
            evalManifestKey: trained.evalManifestKey,
            params: input.params.rlhf,
            hyperparams: t.hyperparams,
            heartbeatTimeoutMs: t.heartbeatTimeoutMs,
            maxAttempts: t.maxAttempts,
            trainer: t.trainer,
            task: input.task,
          },
        ],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        typedSearchAttributes: [
          { key: ProposalIdKey, value: input.proposalId },
          { key: ModelNameKey, value: input.modelName },
          { key: LifecycleStageKey, value: 'rlhf' },
        ],
        memo: { summary: `RLHF round ${round} for ${input.modelName}` },
      });
      state.rlhf.rounds.push(summary);
      policy = summary.artifactKey;
      metrics = summary.metrics;
    }

    // Deployment: evaluation gate, immutable promotion, registration
    await enter('deployment', 'evaluation gate and promotion');
    const d = input.params.deployment;
    const production = await lifecycle.productionMetrics({ modelName: input.modelName });
    const gate = evaluateGate(metrics, d, production?.metrics);
    state.deployment.gate = gate;
    if (!gate.passed) {
      await lifecycle.refundStake({ proposalId: input.proposalId, reason: 'evaluation gate failed' });
      await closeBudget();
      return await finish('failed-gate', `evaluation gate failed: ${gate.reason}`);
    }
    const promotion = {
      proposalId: input.proposalId,
      modelName: input.modelName,
      developer: input.proposer,
      stagingArtifactKey: policy,
      datasetVersionId: collected.datasetVersionId,
      merkleRoot: collected.merkleRoot,
      metrics,
      lineage: {
        proposalId: input.proposalId,
        datasetVersionId: collected.datasetVersionId,
        trainingRunId: trained.runId,
        rlhfRounds: state.rlhf.rounds.map((r) => r.round),
        workflowId: workflowInfo().workflowId,
        // Serving picks the predictor for the version from these (ml/serving/predictor.ts).
        trainer: t.trainer,
        task: input.task,
      },
    };
    // The version is registered here; the model's entity workflow (model-<name>, started on its
    // first version) makes it production and owns it from now on, beyond this lifecycle run.
    const promoted = await lifecycle.promoteModel(promotion);
    await lifecycle.handOverToModel({
      modelName: input.modelName,
      developer: input.proposer,
      proposalId: input.proposalId,
      version: promoted.version,
      settlementPeriodMs: input.params.serving.settlementPeriodMs,
    });
    state.deployment.modelWorkflowId = workflowIds.model(input.modelName);
    state.deployment.version = promoted.version;
    state.deployment.prefix = promoted.prefix;
    await lifecycle.releaseStake({ proposalId: input.proposalId });

    // Serving: the API answers inference from the promoted version; settle the contributor reward pool.
    await enter('serving', `version ${promoted.version} in production`);
    await lifecycle.settleRewards({
      proposalId: input.proposalId,
      modelName: input.modelName,
      datasetVersionId: collected.datasetVersionId,
      amount: input.params.serving.rewardPool,
    });
    await closeBudget();
    return await finish(
      'serving',
      `version ${promoted.version} serving at /v1/models/${input.modelName}/infer, owned by ${state.deployment.modelWorkflowId}`,
    );
  } catch (err) {
    // Every ending that is not `serving` (or a governance outcome) lands here: cancellation and any
    // stage failure. The compensations run in a non-cancellable scope, so they finish even while
    // the workflow is being cancelled, and the proposal row always ends with a final status.
    const cancelled = isCancellation(err);
    const root = rootCause(err);
    const ending = endingFor({ stage: state.stage, cancelled, type: root.type, message: root.message });
    await CancellationScope.nonCancellable(async () => {
      await lifecycle.compensate({ proposalId: input.proposalId, reason: ending.reason, escrow: ending.escrow });
      recordOutcome(ending.status);
      upsertMemo({
        summary: `${input.modelName}: ${state.stage} (${ending.status})`,
        stage: state.stage,
        status: ending.status,
        reason: ending.reason,
      });
      setCurrentDetails(`**${state.stage}** — ${ending.status}: ${ending.reason}`);
      await lifecycle.recordStage({
        proposalId: input.proposalId,
        stage: state.stage,
        status: ending.status,
        reason: ending.reason,
        view: state,
      });
      state.status = ending.status;
      state.reason = ending.reason;
    });
    // A cancelled workflow stays cancelled in Temporal; a failed stage completes the lifecycle
    // with its final status (compensated), like a failed gate.
    if (cancelled) throw err;
    await condition(allHandlersFinished);
    return state;
  }
}

/** The innermost cause of an activity or child workflow failure: what actually went wrong. */
function rootCause(err: unknown): { type?: string; message: string } {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  if (e instanceof ApplicationFailure) return { type: e.type ?? undefined, message: e.message };
  if (e instanceof Error) return { type: e.name === 'Error' ? undefined : e.name, message: e.message };
  return { message: String(e) };
}
