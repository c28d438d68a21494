import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, at, type TestApp } from '../support/app.js';
import { RANDOM_REVIEWER_BOND, REVIEWER_BOND, runScenario, type ScenarioResult } from '../../scenarios/scenario.js';
import { startTsProcess } from '../../infra/local/processes.js';
import { accountsOf } from '../../contracts/accounts.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import type { lifecycleWorkflow } from '../../workflows/index.js';

/**
 * Training on gpu-training and RLHF on gpu-rlhf. The training worker runs in its own process so
 * the test can SIGKILL it mid-training; a fresh worker must resume from the last checkpoint.
 */
describe('training and RLHF on dedicated task queues', () => {
  let app: TestApp;
  let trainingWorker: ChildProcess | undefined;
  let r: ScenarioResult;
  const id = `rlhf-${Date.now().toString(36)}`;
  let killedAtStep = 0;
  let progressSeen: { step: number; totalSteps: number; loss: number } | undefined;

  const lifecycle = () => app.temporal.workflow.getHandle<typeof lifecycleWorkflow>(workflowIds.lifecycle(id));

  const startTrainingWorker = () =>
    startTsProcess(
      'workers/gpu-training.ts',
      // A lone versioned worker on the local stack makes its own version current.
      { ...process.env, COMMONS_LOG_LEVEL: 'WARN', COMMONS_WORKER_MAKE_CURRENT: '1' },
      /workers running/,
    );

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data', 'rlhf'] });
    trainingWorker = await startTrainingWorker();
    const scenario = runScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: id,
      modelName: `m-${id}`,
      records: 600,
      contributors: 3,
      randomReviewer: true,
      pollMs: 300,
      params: {
        collection: { batchSize: 150 },
        // Many epochs so training lasts long enough to be killed; a short heartbeat timeout so the
        // retry starts soon after the kill.
        training: { hyperparams: { epochs: 1000, checkpointEvery: 1000 }, heartbeatTimeoutMs: 4000 },
        rlhf: {
          rounds: 2,
          promptsPerRound: 16,
          answersPerItem: 4,
          roundDeadlineMs: 90_000,
        },
        deployment: { minAccuracy: 0.7, minMacroF1: 0.6 },
      },
    });
    // Watch training progress through the API; once a checkpoint exists, kill the worker.
    const killed = (async () => {
      const hb = await eventually(
        async () => {
          // Live: the heartbeat Temporal recorded (what a retry resumes from), not the read model's
          // copy, which the worker writes before the SDK's throttled heartbeat reaches the server.
          const s = await fetch(`${app.url}/v1/proposals/${id}?live=1`).then((x) => (x.ok ? x.json() : undefined));
          // A live read the workflow did not answer in time falls back to the read model: not this.
          if ((s as { source?: string } | undefined)?.source !== 'workflow') return undefined;
          const a = (
            s as
              | {
                  progress?: {
                    activities?: {
                      activity: string;
                      details?: { step: number; totalSteps: number; loss: number; lastCheckpoint?: { step: number } };
                    }[];
                  };
                }
              | undefined
          )?.progress?.activities?.find((x) => x.activity === 'trainModel');
          if (a?.details?.step) progressSeen = a.details;
          return a?.details?.lastCheckpoint && a.details.lastCheckpoint.step >= 1000 ? a.details : undefined;
        },
        300_000,
        100,
      );
      killedAtStep = hb.step;
      trainingWorker.kill('SIGKILL');
      trainingWorker = await startTrainingWorker();
    })();
    r = await scenario;
    await killed;
  }, 900_000);

  afterAll(async () => {
    trainingWorker?.kill('SIGTERM');
    await app?.close();
  });

  it('showed training progress (step, loss) through the API while it ran', () => {
    expect(progressSeen?.totalSteps).toBeGreaterThan(0);
    expect(Number.isFinite(progressSeen?.loss)).toBe(true);
  });

  it('resumed training from the last checkpoint after the worker was SIGKILLed', async () => {
    const [run] = await app.sql<
      { status: string; resumed_from_step: number | null; steps: number | null }[]
    >`select status, resumed_from_step, steps from training_runs where proposal_id = ${id}`;
    if (!run) throw new Error(`no training run for ${id}`);
    expect(run.status).toBe('succeeded');
    expect(killedAtStep).toBeGreaterThan(0);
    expect(run.resumed_from_step).toBeGreaterThanOrEqual(1000);
    expect(run.resumed_from_step).toBeLessThanOrEqual(killedAtStep);
    const result = await lifecycle().result();
    expect(result.training.resumedFromStep).toBe(run.resumed_from_step);
  });

  it('ran two review rounds whose preference updates did not lower held-out accuracy', async () => {
    const result = await lifecycle().result();
    expect(result.status).toBe('serving');
    expect(result.rlhf.rounds).toHaveLength(2);
    const trained = result.training.metrics?.accuracy;
    if (trained === undefined) throw new Error('the lifecycle result has no training metrics');
    for (const round of result.rlhf.rounds) {
      // The honest consensus update is applied (not held back by the no-regression guard)...
      expect(round.applied).toBe(true);
      // ...and held-out accuracy did not drop.
      expect(round.metrics.accuracy).toBeGreaterThanOrEqual(trained);
    }
    const rounds = await app.sql<
      { round: number; status: string }[]
    >`select round, status from rlhf_rounds where proposal_id = ${id} order by round`;
    expect(rounds.map((x) => x.status)).toEqual(['done', 'done']);
  });

  it('settled by bonded stake: the random reviewer lost bond, honest reviewers kept theirs and were rewarded', async () => {
    if (!r.randomReviewer) throw new Error('the scenario ran without a random reviewer');
    const random = r.randomReviewer.address;
    const penalties =
      await app.sql`select amount from transfers where from_account = ${accountsOf.validatorStake(random)} and proposal_id = ${id}`;
    expect(penalties.length).toBeGreaterThan(0);
    expect(BigInt(await app.ledger.balance(accountsOf.validatorStake(random), 'OPEN'))).toBeLessThan(
      BigInt(RANDOM_REVIEWER_BOND),
    );
    const honestValidator = at(r.reviewers, 2, 'validator').address;
    const honestReviewer = at(r.reviewers, 0, 'reviewer');
    expect(await app.ledger.balance(accountsOf.validatorStake(honestValidator), 'OPEN')).toBe(REVIEWER_BOND);
    const rewards = await honestReviewer.rewards();
    expect(rewards.rewards.some((x) => x.reason.startsWith('review reward'))).toBe(true);
    // Every answer came from an assigned, bonded reviewer; honest reviewers never disagreed.
    const unassigned = await app.sql`
      select a.task_id from review_answers a join review_tasks t on t.id = a.task_id
      where t.proposal_id = ${id} and not exists (select 1 from review_assignments s where s.task_id = a.task_id and s.reviewer = a.reviewer)`;
    expect(unassigned).toHaveLength(0);
    const outcomes = await app.sql<{ reviewer: string; disagreed: number; reward: string; penalty: string }[]>`
      select reviewer, sum(disagreed)::int as disagreed, sum(reward)::text as reward, sum(penalty)::text as penalty
      from review_round_reviewers where proposal_id = ${id} group by reviewer`;
    const byReviewer = new Map(outcomes.map((d) => [d.reviewer, d]));
    expect(byReviewer.get(random)?.disagreed).toBeGreaterThan(0);
    expect(BigInt(byReviewer.get(random)?.penalty ?? '0')).toBeGreaterThan(
      BigInt(byReviewer.get(random)?.reward ?? '0'),
    );
    expect(byReviewer.get(honestReviewer.address)?.disagreed).toBe(0);
    // Each round's summary carries its agreement (Krippendorff's alpha) and gold items.
    const { rounds } = await honestReviewer.reviewRounds(id);
    expect(rounds).toHaveLength(2);
    for (const x of rounds) {
      expect(x.summary).toHaveProperty('alpha');
      expect(x.summary?.gold).toBeGreaterThan(0);
    }
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });
});
