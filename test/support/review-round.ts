import { createHash } from 'node:crypto';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { EmbeddedTrainer, splitManifest } from '../../ml/embedded/embedded-trainer.js';
import type { EvalMetrics, ManifestRecord } from '../../ml/trainer.js';
import { insertProposal } from '../../db/queries/proposals.js';
import { reserveBudget } from '../../db/budgets.js';
import { DEFAULT_PARAMS } from '../../domain/lifecycle/params.js';
import type { LifecycleParams } from '../../domain/lifecycle/types.js';
import { TASK_QUEUES } from '../../contracts/task-queues.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import type { RlhfRoundInput, rlhfRoundWorkflow } from '../../workflows/rlhf-round.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { eventually, type TestApp } from './app.js';
import { participant, uniqueId } from './participants.js';

/**
 * Real review rounds without a whole lifecycle: a small embedded model trained on SpamAssassin
 * mails, a proposal row to enlist for, and rlhfRoundWorkflow started on the lifecycle queue (the
 * app needs the 'lifecycle' and 'rlhf' workers). `truth` maps each mail to its label.
 */
/** Each proposal's budget, reserved from the treasury the harness funds: ample for any round's rewards. */
const REVIEW_BUDGET = '100000';

export async function reviewRoundHarness(app: TestApp) {
  const prefix = `tests/${uniqueId('reviews')}`;
  const records: ManifestRecord[] = loadSpamAssassin({ limit: 400, seed: 21 }).map((r) => ({
    hash: createHash('sha256').update(r.text).digest('hex'),
    contributor: 'corpus',
    text: r.text,
    label: r.label,
  }));
  const truth = new Map(records.map((r) => [r.text, r.label]));
  await app.store.put(`${prefix}/data.jsonl`, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const evalManifestKey = `${prefix}/eval.jsonl`;
  const held = splitManifest(records, 0.3).eval;
  await app.store.put(evalManifestKey, held.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const trained = await new EmbeddedTrainer().train(
    {
      jobId: `${prefix}-train`,
      modelName: 'reviews-harness',
      task: 'classification',
      labels: ['spam', 'ham'],
      datasetManifestKey: `${prefix}/data.jsonl`,
      evalFraction: 0.3,
      hyperparams: { ...DEFAULT_PARAMS.training.hyperparams, epochs: 3 },
      outputPrefix: `${prefix}/model`,
    },
    { store: app.store, progress: () => {}, signal: new AbortController().signal },
  );
  const policy: { artifactKey: string; metrics: EvalMetrics } = {
    artifactKey: trained.artifactKey,
    metrics: trained.metrics,
  };
  // The treasury pays review rewards (a genesis allocation, as in the demo).
  const funder = await participant(app.url, ['reviewer']);
  await funder.faucet('OPEN', '10000000', 'treasury');

  return {
    truth,
    /** A proposal to enlist for; `budget` and `params` are its terms (the harness's ample budget by default). */
    async proposal(terms: { budget?: string; params?: Record<string, unknown> } = {}): Promise<string> {
      const id = uniqueId('rev');
      const budget = terms.budget ?? REVIEW_BUDGET;
      await insertProposal(app.sql, {
        id,
        proposer: 'review-harness',
        modelName: `m-${id}`,
        title: 'Spam filter under review',
        description: 'spam filter',
        rationale: 'tests',
        domain: 'email spam',
        labels: ['spam', 'ham'],
        datanetSpec: {},
        params: terms.params ?? {},
        budget,
        stake: '0',
        workflowId: workflowIds.lifecycle(id),
      });
      // Review rewards are paid from the proposal's budget, reserved as a passing vote does.
      await reserveBudget(app.sql, { proposalId: id, amount: budget });
      return id;
    },
    /** A reviewer with `bond` OPEN bonded, enlisted for the proposal. */
    async reviewer(bond: bigint, proposalId: string): Promise<CommonsClient> {
      const c = await participant(app.url, ['reviewer'], { OPEN: bond.toString() });
      await c.bondForReview(bond.toString());
      await c.enlistForReview(proposalId);
      return c;
    },
    startRound(proposalId: string, round: number, rlhf: Partial<LifecycleParams['rlhf']>) {
      const input: RlhfRoundInput = {
        proposalId,
        modelName: `m-${proposalId}`,
        round,
        policyArtifactKey: policy.artifactKey,
        policyMetrics: policy.metrics,
        referenceArtifactKey: policy.artifactKey,
        evalManifestKey,
        params: { ...DEFAULT_PARAMS.rlhf, roundDeadlineMs: 60_000, extensionMs: 10_000, ...rlhf },
        hyperparams: DEFAULT_PARAMS.training.hyperparams,
        heartbeatTimeoutMs: 60_000,
        maxAttempts: DEFAULT_PARAMS.training.maxAttempts,
        trainer: 'embedded',
        task: 'classification',
      };
      return app.temporal.workflow.start<typeof rlhfRoundWorkflow>('rlhfRoundWorkflow', {
        taskQueue: TASK_QUEUES.lifecycle,
        workflowId: workflowIds.rlhfRound(proposalId, round),
        args: [input],
      });
    },
    /** The round's tasks once they are open. */
    openTasks(proposalId: string, round: number) {
      return eventually(async () => {
        const rows = await app.sql<{ id: string; prompt: string; candidates: string[] }[]>`
          select id, prompt, candidates from review_tasks where proposal_id = ${proposalId} and round = ${round} and status = 'open' order by id`;
        return rows.length > 0 ? rows : undefined;
      }, 120_000);
    },
  };
}
