import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import {
  startWorkflowTier,
  eventually,
  refusal,
  uniqueId,
  type Scope,
  type WorkflowTier,
} from '../test/workflow-tier/tier.js';
import { succeedingActivities, runUntilCancelled, GOOD_METRICS } from '../test/workflow-tier/mocks.js';
import { TASK_QUEUES } from '../contracts/task-queues.js';
import { workflowIds } from '../contracts/workflow-ids.js';
import { statusQuery, tallyQuery, voteUpdate, withdrawUpdate } from '../contracts/messages.js';
import type { DeepPartial } from '../domain/lifecycle/params.js';
import type { LifecycleParams, LifecycleStatusView, Stage } from '../domain/lifecycle/types.js';
import { lifecycleInput, PROPOSER } from '../test/workflow-tier/lifecycle-input.js';
import type { VoteOption } from '../domain/governance/tally.js';
import type { lifecycleWorkflow } from './lifecycle.js';

/**
 * Every way a lifecycle ends, with its activities mocked: which ledger and bookkeeping activities
 * ran with which arguments (the compensations above all), and the final status the workflow
 * returns and records. The money itself, the SQL and S3 are the stack tier's (test/e2e).
 */
describe.concurrent('lifecycle endings (workflow tier)', () => {
  let tier: WorkflowTier;

  beforeAll(async () => {
    tier = await startWorkflowTier(import.meta.url, succeedingActivities());
  });
  afterAll(async () => {
    await tier?.shutdown();
  });

  const start = (id: string, params?: DeepPartial<LifecycleParams>) =>
    tier.client.workflow.start<typeof lifecycleWorkflow>('lifecycleWorkflow', {
      taskQueue: TASK_QUEUES.lifecycle,
      workflowId: workflowIds.lifecycle(id),
      args: [lifecycleInput(id, params)],
    });
  const votingOpen = (h: WorkflowHandle) =>
    eventually(async () => ((await h.query(tallyQuery)).open ? true : undefined));
  const vote = (h: WorkflowHandle, voter: string, option: VoteOption) =>
    h.executeUpdate(voteUpdate, { args: [{ voter, option }] });
  /** A proposal the dominant governor (700 of 1000 gOPEN) votes on: decided at once. */
  const decided = async (id: string, option: VoteOption, params?: DeepPartial<LifecycleParams>) => {
    const h = await start(id, params);
    await votingOpen(h);
    await vote(h, 'gov-a', option);
    return h;
  };
  const stageReached = (h: WorkflowHandle, stage: Stage) =>
    eventually(async () => ((await h.query(statusQuery)).stage === stage ? true : undefined));
  /** The last transition the workflow recorded in Postgres (the API's view of the ending). */
  const lastRecorded = (t: Scope) => {
    const r = t.inputs('recordStage').at(-1)!;
    return { stage: r.stage, status: r.status, reason: r.reason };
  };

  it('serving: every stage in order, the budget reserved and closed, the version handed to the model entity', async () => {
    const t = tier.scope(uniqueId('serving'));
    const id = t.key;
    // The round yields one preference pair, so the promoted policy is the round's update.
    t.mock({
      settleStakedRound: () => ({
        preferences: [{ prompt: 'prompt 0', chosen: 'spam', rejected: 'ham', weight: 1 }],
        summary: { answers: 3, rewarded: 3, penalised: [] },
      }),
    });
    const h = await decided(id, 'yes', { rlhf: { rounds: 1 } });
    const view: LifecycleStatusView = await h.result();
    expect(view.status).toBe('serving');
    expect(view.history.map((x) => x.stage)).toEqual([
      'proposed',
      'governance',
      'data-collection',
      'training',
      'rlhf',
      'deployment',
      'serving',
    ]);
    expect(view.reason).toBe(`version 1 serving at /v1/models/m-${id}/infer, owned by model-m-${id}`);
    expect(view.budget).toEqual({ asked: '800', reserved: '800' });
    expect(view.governance).toMatchObject({ outcome: 'passed', closedEarly: true });
    expect(view.collection).toMatchObject({ datasetVersionId: `dv-${id}`, accepted: 40, received: 40 });
    expect(view.rlhf.rounds).toEqual([expect.objectContaining({ round: 1, applied: true, answers: 3 })]);
    expect(view.deployment).toMatchObject({ version: 1, modelWorkflowId: `model-m-${id}`, gate: { passed: true } });

    expect(t.inputs('escrowStake')).toEqual([{ proposalId: id, proposer: PROPOSER, amount: '1000' }]);
    // The counted voters go with the tally: any other vote row is removed as it is stored.
    expect(t.inputs('recordTally')).toEqual([
      expect.objectContaining({ proposalId: id, outcome: 'passed', closedEarly: true, voters: ['gov-a'] }),
    ]);
    expect(t.inputs('reserveBudget')).toEqual([{ proposalId: id, amount: '800' }]);
    expect(t.inputs('trainModel')).toMatchObject([
      {
        proposalId: id,
        trainer: 'embedded',
        job: { task: 'classification', datasetManifestKey: `datasets/${id}/manifest.jsonl` },
      },
    ]);
    // The version is registered here; the model entity makes it production (the hand-over).
    expect(t.inputs('promoteModel')).toMatchObject([
      {
        proposalId: id,
        developer: PROPOSER,
        stagingArtifactKey: `staging/${id}/rlhf-r1/model.bin`,
        lineage: { trainer: 'embedded', task: 'classification', rlhfRounds: [1] },
      },
    ]);
    expect(t.inputs('handOverToModel')).toEqual([
      { modelName: `m-${id}`, developer: PROPOSER, proposalId: id, version: 1, settlementPeriodMs: 60_000 },
    ]);
    expect(t.inputs('releaseStake')).toEqual([{ proposalId: id }]);
    expect(t.inputs('settleRewards')).toEqual([
      { proposalId: id, modelName: `m-${id}`, datasetVersionId: `dv-${id}`, amount: '300' },
    ]);
    expect(t.inputs('closeBudget')).toEqual([{ proposalId: id }]);
    for (const never of ['refundStake', 'slashStake', 'compensate'] as const) expect(t.inputs(never)).toEqual([]);
    // The stake is released only after the hand-over, the budget closed only after the reward pool.
    const order = t.calls().map((c) => c.name);
    expect(order.indexOf('releaseStake')).toBeGreaterThan(order.indexOf('handOverToModel'));
    expect(order.indexOf('closeBudget')).toBeGreaterThan(order.indexOf('settleRewards'));
    expect(lastRecorded(t)).toMatchObject({ stage: 'serving', status: 'serving' });
    const d = await h.describe();
    expect(d.status.name).toBe('COMPLETED');
    expect(d.searchAttributes.LifecycleStage).toEqual(['serving']);
    expect(d.searchAttributes.ProposalId).toEqual([id]);
    const listed = await eventually(async () => {
      const ids: string[] = [];
      for await (const w of tier.client.workflow.list({ query: `LifecycleStage = "serving" AND ProposalId = "${id}"` }))
        ids.push(w.workflowId);
      return ids.length ? ids : undefined;
    });
    expect(listed).toEqual([workflowIds.lifecycle(id)]);
  });

  it('rejected: the stake is refunded, nothing is reserved or collected', async () => {
    const t = tier.scope(uniqueId('rejected'));
    const id = t.key;
    const view = await (await decided(id, 'no')).result();
    expect(view).toMatchObject({
      status: 'rejected',
      stage: 'governance',
      reason: 'rejected by governors: stake refunded',
    });
    expect(t.inputs('refundStake')).toEqual([{ proposalId: id, reason: 'rejected' }]);
    expect(t.inputs('recordTally')).toEqual([expect.objectContaining({ outcome: 'rejected', closedEarly: true })]);
    for (const never of ['slashStake', 'reserveBudget', 'openDatanet', 'compensate'] as const)
      expect(t.inputs(never)).toEqual([]);
    expect(lastRecorded(t)).toEqual({ stage: 'governance', status: 'rejected', reason: view.reason });
  });

  it('vetoed: the stake is slashed, never refunded', async () => {
    const t = tier.scope(uniqueId('vetoed'));
    const id = t.key;
    const view = await (await decided(id, 'veto')).result();
    expect(view).toMatchObject({ status: 'vetoed', reason: 'vetoed by governors: stake slashed to the treasury' });
    expect(t.inputs('slashStake')).toEqual([{ proposalId: id, reason: 'vetoed' }]);
    for (const never of ['refundStake', 'reserveBudget', 'compensate'] as const) expect(t.inputs(never)).toEqual([]);
    expect(lastRecorded(t)).toMatchObject({ stage: 'governance', status: 'vetoed' });
  });

  it('expired: turnout below quorum at the deadline refunds the stake', async () => {
    const t = tier.scope(uniqueId('expired'));
    const id = t.key;
    const h = await start(id, { governance: { votingPeriodMs: 300 } });
    const view = await h.result();
    expect(view).toMatchObject({ status: 'expired', reason: 'turnout below quorum: stake refunded' });
    expect(view.governance.closedEarly).toBe(false);
    expect(t.inputs('recordTally')).toEqual([
      expect.objectContaining({ proposalId: id, outcome: 'expired', closedEarly: false, voters: [] }),
    ]);
    expect(t.inputs('refundStake')).toEqual([{ proposalId: id, reason: 'expired' }]);
    expect(lastRecorded(t)).toMatchObject({ stage: 'governance', status: 'expired' });
  });

  it('withdrawn: only the proposer may withdraw, and the stake is refunded', async () => {
    const t = tier.scope(uniqueId('withdrawn'));
    const id = t.key;
    const h = await start(id);
    await votingOpen(h);
    expect(await refusal(h.executeUpdate(withdrawUpdate, { args: [{ requester: 'someone-else' }] }))).toBe(
      'only the proposer may withdraw the proposal',
    );
    await h.executeUpdate(withdrawUpdate, { args: [{ requester: PROPOSER }] });
    const view = await h.result();
    expect(view).toMatchObject({
      status: 'withdrawn',
      stage: 'governance',
      reason: 'withdrawn by the proposer before governance closed',
    });
    expect(t.inputs('refundStake')).toEqual([{ proposalId: id, reason: 'withdrawn by the proposer' }]);
    expect(t.inputs('recordTally')).toEqual([]);
    expect(lastRecorded(t)).toMatchObject({ stage: 'governance', status: 'withdrawn' });
  });

  it('refuses a withdrawal while a veto is winning; the vote then decides', async () => {
    const t = tier.scope(uniqueId('veto-lock'));
    const id = t.key;
    t.mock({ snapshotVotingPower: () => ({ snapshot: { small: '200', big: '800' }, total: '1000' }) });
    const h = await start(id);
    await votingOpen(h);
    await vote(h, 'small', 'veto'); // 200 of 1000: the rest could still dilute it, so voting stays open
    expect(await refusal(h.executeUpdate(withdrawUpdate, { args: [{ requester: PROPOSER }] }))).toMatch(
      /a proposal cannot be withdrawn while a veto is winning/,
    );
    await vote(h, 'big', 'no');
    const view = await h.result();
    expect(view.status).toBe('rejected');
    expect(t.inputs('refundStake')).toEqual([{ proposalId: id, reason: 'rejected' }]);
  });

  it('refuses votes the tally must not count, before they reach history', async () => {
    const t = tier.scope(uniqueId('votes'));
    const id = t.key;
    t.mock({ snapshotVotingPower: () => ({ snapshot: { a: '100', b: '100', c: '800' }, total: '1000' }) });
    const h = await start(id);
    await votingOpen(h);
    await vote(h, 'a', 'yes');
    expect(await refusal(vote(h, 'a', 'no'))).toMatch(/already voted/);
    expect(await refusal(vote(h, 'nobody', 'yes'))).toMatch(/no voting power/);
    expect(t.inputs('recordVote')).toEqual([{ proposalId: id, voter: 'a', option: 'yes', power: '100' }]);
    await h.cancel();
    await expect(h.result()).rejects.toThrow(WorkflowFailedError);
  });

  it('records a vote inside the task that accepts it, then answers (a local activity, retried)', async () => {
    const t = tier.scope(uniqueId('vote-local'));
    const id = t.key;
    let attempts = 0;
    t.mock({
      snapshotVotingPower: () => ({ snapshot: { a: '100', c: '900' }, total: '1000' }),
      recordVote: () => {
        if (++attempts === 1) throw new Error('Postgres went away');
      },
    });
    const h = await start(id);
    await votingOpen(h);
    const answer = await vote(h, 'a', 'yes');
    // Recorded, after one failed attempt, before the answer: the read model is never behind the count.
    const recorded = { proposalId: id, voter: 'a', option: 'yes', power: '100' };
    expect(t.inputs('recordVote')).toEqual([recorded, recorded]);
    expect(answer.tally).toMatchObject({ yes: '100', cast: '100', total: '1000' });
    const events = (await h.fetchHistory()).events ?? [];
    const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    expect(scheduled).not.toContain('recordVote');
    const markers = events.map((e) => e.markerRecordedEventAttributes?.markerName).filter(Boolean);
    expect(markers).toEqual(expect.arrayContaining(['core_patch', 'core_local_activity']));
    // Accepted and completed by one workflow task: no task started between the two.
    const accepted = events.findIndex((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    const completed = events.findIndex((e) => e.workflowExecutionUpdateCompletedEventAttributes);
    expect(accepted).toBeGreaterThan(-1);
    expect(completed).toBeGreaterThan(accepted);
    expect(events.slice(accepted, completed).some((e) => e.workflowTaskStartedEventAttributes)).toBe(false);
    expect(await refusal(vote(h, 'a', 'no'))).toMatch(/already voted/);
    expect(t.inputs('recordVote')).toHaveLength(2);
    await h.cancel();
    await expect(h.result()).rejects.toThrow(WorkflowFailedError);
  });

  it('cancelled in data collection: compensated (escrow refunded), the Datanet child cancelled, the workflow cancelled', async () => {
    const t = tier.scope(uniqueId('cancelled'));
    const id = t.key;
    t.mock({ countContributions: () => 0 });
    const h = await decided(id, 'yes');
    await stageReached(h, 'data-collection');
    const child = tier.client.workflow.getHandle(workflowIds.collection(id));
    await eventually(() => (t.inputs('countContributions').length > 0 ? true : undefined));
    // Governance has closed: a late vote and a withdrawal are refused with the reason.
    expect(await refusal(vote(h, 'gov-b', 'no'))).toMatch(/closed/);
    expect(await refusal(h.executeUpdate(withdrawUpdate, { args: [{ requester: PROPOSER }] }))).toBe(
      'governance has closed; the proposal can no longer be withdrawn',
    );
    await h.cancel();
    await expect(h.result()).rejects.toThrow(WorkflowFailedError);
    expect((await h.describe()).status.name).toBe('CANCELLED');
    await eventually(async () => ((await child.describe()).status.name === 'CANCELLED' ? true : undefined));
    const reason = 'cancelled: escrow refunded, open Datanet and review tasks closed';
    expect(t.inputs('compensate')).toEqual([{ proposalId: id, reason, escrow: 'refund' }]);
    for (const never of ['refundStake', 'releaseStake', 'slashStake', 'closeDatanet'] as const)
      expect(t.inputs(never)).toEqual([]);
    expect(lastRecorded(t)).toEqual({ stage: 'data-collection', status: 'cancelled', reason });
  });

  it('cancelled while a GPU job runs: the job is cancelled and the lifecycle compensated', async () => {
    const t = tier.scope(uniqueId('cancel-train'));
    const id = t.key;
    t.mock({ trainModel: () => runUntilCancelled() });
    const h = await decided(id, 'yes');
    await eventually(() => (t.inputs('trainModel').length > 0 ? true : undefined));
    await h.cancel();
    await expect(h.result()).rejects.toThrow(WorkflowFailedError);
    expect(t.inputs('compensate')).toEqual([expect.objectContaining({ proposalId: id, escrow: 'refund' })]);
    expect(lastRecorded(t)).toMatchObject({ stage: 'training', status: 'cancelled' });
    expect(t.inputs('promoteModel')).toEqual([]);
  });

  it('cancelled in review: the open round is cancelled with the lifecycle, nothing promoted', async () => {
    const t = tier.scope(uniqueId('cancel-review'));
    const reviewers = ['r1', 'r2', 'r3'].map((reviewer) => ({
      reviewer,
      stake: '1000',
      paused: false,
      goldCorrect: 0,
      goldAnswered: 0,
    }));
    t.mock({ reviewerPool: () => ({ minBond: '100', reviewers, seed: 'seed' }) });
    const h = await decided(t.key, 'yes', { rlhf: { rounds: 1, roundDeadlineMs: 60_000 } });
    await eventually(() => (t.inputs('openReviewTasks').length > 0 ? true : undefined));
    await h.cancel();
    await expect(h.result()).rejects.toThrow(WorkflowFailedError);
    const round = tier.client.workflow.getHandle(workflowIds.rlhfRound(t.key, 1));
    await eventually(async () => ((await round.describe()).status.name === 'CANCELLED' ? true : undefined));
    expect(t.inputs('compensate')).toEqual([
      {
        proposalId: t.key,
        reason: 'cancelled: escrow refunded, open Datanet and review tasks closed',
        escrow: 'refund',
      },
    ]);
    expect(lastRecorded(t)).toMatchObject({ stage: 'rlhf', status: 'cancelled' });
    for (const never of ['settleStakedRound', 'promoteModel', 'releaseStake'] as const)
      expect(t.inputs(never)).toEqual([]);
  });

  it('failed-gate at the data gate: too few accepted records refunds the stake and closes the budget', async () => {
    const t = tier.scope(uniqueId('data-gate'));
    const id = t.key;
    t.mock({ dedupeBatch: () => ({ accepted: 2, duplicates: 18 }) });
    t.mock({
      buildDataset: (a) => ({
        datasetVersionId: `dv-${a.datanetId}`,
        merkleRoot: 'root',
        manifestKey: 'm',
        recordCount: 4,
        contributors: 1,
      }),
    });
    const view = await (await decided(id, 'yes')).result();
    expect(view).toMatchObject({
      status: 'failed-gate',
      stage: 'data-collection',
      reason: 'only 4 records accepted, 10 needed: stake refunded',
    });
    expect(t.inputs('refundStake')).toEqual([{ proposalId: id, reason: 'not enough accepted data' }]);
    expect(t.inputs('closeBudget')).toEqual([{ proposalId: id }]);
    for (const never of ['trainModel', 'compensate'] as const) expect(t.inputs(never)).toEqual([]);
  });

  it('failed-gate at the evaluation gate: nothing promoted, stake refunded, budget closed', async () => {
    const t = tier.scope(uniqueId('eval-gate'));
    const id = t.key;
    t.mock({
      trainModel: (a) => ({
        runId: 'r',
        artifactKey: `${a.job.outputPrefix}/model.bin`,
        sha256: 'x',
        metrics: { ...GOOD_METRICS, accuracy: 0.5 },
        evalManifestKey: 'e',
      }),
    });
    const view = await (await decided(id, 'yes')).result();
    expect(view).toMatchObject({
      status: 'failed-gate',
      stage: 'deployment',
      reason: 'evaluation gate failed: accuracy 0.500 below 0.7',
    });
    expect(t.inputs('refundStake')).toEqual([{ proposalId: id, reason: 'evaluation gate failed' }]);
    expect(t.inputs('closeBudget')).toEqual([{ proposalId: id }]);
    for (const never of ['promoteModel', 'handOverToModel', 'releaseStake', 'settleRewards'] as const)
      expect(t.inputs(never)).toEqual([]);
  });

  it('failed-gate when the candidate regresses from production by more than maxRegression', async () => {
    const t = tier.scope(uniqueId('regress'));
    const id = t.key;
    t.mock({ productionMetrics: () => ({ version: 3, metrics: { ...GOOD_METRICS, accuracy: 0.95 } }) });
    const view = await (await decided(id, 'yes')).result();
    expect(view.status).toBe('failed-gate');
    expect(view.reason).toMatch(/regresses more than 0.02 from production 0.950/);
    expect(t.inputs('promoteModel')).toEqual([]);
  });

  // Each stage's failure: the innermost cause in the reason, the stake refunded by `compensate`
  // (never slashed), no stage after it run, and the workflow completes with status `failed`.
  const failures: {
    stage: Stage;
    mock: Parameters<Scope['mock']>[0];
    cause: string;
    vote?: false;
    notRun: ('openDatanet' | 'trainModel' | 'promoteModel' | 'releaseStake' | 'reserveBudget' | 'handOverToModel')[];
  }[] = [
    {
      stage: 'proposed',
      vote: false,
      mock: {
        escrowStake: () => {
          throw ApplicationFailure.nonRetryable('balance 10 below 1000', 'InsufficientFundsError');
        },
      },
      cause: 'InsufficientFundsError: balance 10 below 1000',
      notRun: ['reserveBudget', 'openDatanet'],
    },
    {
      stage: 'governance',
      mock: {
        reserveBudget: () => {
          throw ApplicationFailure.nonRetryable('the treasury cannot reserve 800', 'InsufficientFundsError');
        },
      },
      cause: 'InsufficientFundsError: the treasury cannot reserve 800',
      notRun: ['openDatanet', 'trainModel'],
    },
    {
      stage: 'data-collection',
      mock: {
        buildDataset: () => {
          throw ApplicationFailure.nonRetryable('manifest write refused', 'StorageError');
        },
      },
      cause: 'StorageError: manifest write refused',
      notRun: ['trainModel'],
    },
    {
      stage: 'training',
      mock: {
        trainModel: () => {
          throw ApplicationFailure.create({ message: 'no worker offers trainer gpt-9', type: 'UnknownTrainer' });
        },
      },
      cause: 'UnknownTrainer: no worker offers trainer gpt-9',
      notRun: ['promoteModel'],
    },
    {
      stage: 'rlhf',
      mock: {
        generateCandidates: () => {
          throw ApplicationFailure.create({ message: 'no worker offers trainer gpt-9', type: 'UnknownTrainer' });
        },
      },
      cause: 'UnknownTrainer: no worker offers trainer gpt-9',
      notRun: ['promoteModel'],
    },
    {
      stage: 'deployment',
      mock: {
        promoteModel: () => {
          throw ApplicationFailure.create({
            message: 'models/x/1/model.bin exists with different content',
            type: 'IntegrityError',
          });
        },
      },
      cause: 'IntegrityError: models/x/1/model.bin exists with different content',
      notRun: ['handOverToModel', 'releaseStake'],
    },
  ];
  for (const f of failures) {
    it(`failed in ${f.stage}: compensated with the stake refunded, the lifecycle completes as failed`, async () => {
      const t = tier.scope(uniqueId(`fail-${f.stage}`));
      const id = t.key;
      t.mock(f.mock);
      const h =
        f.vote === false ? await start(id, { rlhf: { rounds: 1 } }) : await decided(id, 'yes', { rlhf: { rounds: 1 } });
      const view = await h.result();
      const reason = `${f.stage} failed (${f.cause}): stake refunded, open Datanet and review tasks closed`;
      expect(view).toMatchObject({ status: 'failed', stage: f.stage, reason });
      expect(t.inputs('compensate')).toEqual([{ proposalId: id, reason, escrow: 'refund' }]);
      expect(lastRecorded(t)).toEqual({ stage: f.stage, status: 'failed', reason });
      for (const never of [...f.notRun, 'slashStake', 'refundStake'] as const) expect(t.inputs(never)).toEqual([]);
      expect((await h.describe()).status.name).toBe('COMPLETED');
      // An unknown trainer is non-retryable: one attempt, then the lifecycle compensates at once.
      if (f.stage === 'training') expect(t.inputs('trainModel')).toHaveLength(1);
    });
  }

  it('retries a failing GPU job exactly training.maxAttempts times, then fails the stage', async () => {
    const t = tier.scope(uniqueId('attempts'));
    const id = t.key;
    t.mock({
      trainModel: () => {
        throw new Error('trainer exited with code 3');
      },
    });
    const view = await (await decided(id, 'yes', { training: { maxAttempts: 2 } })).result();
    expect(view).toMatchObject({ status: 'failed', stage: 'training' });
    expect(view.reason).toMatch(/trainer exited with code 3/);
    expect(t.inputs('trainModel')).toHaveLength(2);
    expect(t.inputs('compensate')).toEqual([expect.objectContaining({ proposalId: id, escrow: 'refund' })]);
  });
});
