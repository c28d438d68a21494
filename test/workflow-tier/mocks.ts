import { Context } from '@temporalio/activity';
import type { ActivityMocks } from './tier.js';
import type { EvalMetrics } from '../../domain/lifecycle/types.js';
import { EMPTY_ROOT } from '../../domain/data/merkle.js';

export const GOOD_METRICS: EvalMetrics = { accuracy: 0.9, macroF1: 0.88, loss: 0.1, examples: 40 };

/**
 * Activities that succeed with plausible answers: a Datanet whose `closeDatanet` reports seqs
 * 1..40, every record accepted, a model trained to GOOD_METRICS, review rounds with no bonded
 * reviewers. Tests override the few a scenario turns on.
 */
export function succeedingActivities(): { lifecycle: ActivityMocks; data: ActivityMocks; training: ActivityMocks } {
  const none = () => undefined;
  const moved = () => ({ moved: '1000', applied: true });
  return {
    lifecycle: {
      recordStage: none,
      escrowStake: none,
      snapshotVotingPower: () => ({ snapshot: { 'gov-a': '700', 'gov-b': '300' }, total: '1000' }),
      recordVote: none,
      recordTally: none,
      refundStake: moved,
      slashStake: moved,
      releaseStake: moved,
      reserveBudget: (a) => ({ reserved: a.amount }),
      closeBudget: none,
      compensate: moved,
      productionMetrics: () => null,
      promoteModel: (a) => ({ version: 1, prefix: `models/${a.modelName}/1/`, sha256: 'ab12' }),
      handOverToModel: (a) => ({ productionVersion: a.version, previous: null }),
      settleRewards: none,
      createReviewTasks: (a) =>
        a.items.map((item) => ({
          id: `${a.proposalId}-r${a.round}-${item.promptId}`,
          candidates: item.outputs.map((o) => o.output),
          ...(item.gold !== undefined ? { gold: true } : {}),
        })),
      openReviewTasks: none,
      pickGoldItems: () => [],
      commitRoundSeed: () => ({ commitment: 'c0ffee' }),
      reviewerPool: () => ({ minBond: '100', reviewers: [], seed: 'seed' }),
      assignReviewTasks: none,
      recordReviewAnswer: none,
      settleStakedRound: () => ({ preferences: [], summary: { answers: 0, rewarded: 0, penalised: [] } }),
      recordRound: none,
      setProductionVersion: () => ({ productionVersion: 1, previous: null }),
      settleModelEpoch: () => ({ paid: '0', recipients: 0, receipts: { root: EMPTY_ROOT, size: 0 } }),
      retireModel: none,
    },
    data: {
      openDatanet: none,
      // The target (40 in the lifecycle tests) is there at the first poll: the window closes at once.
      countContributions: () => 40,
      closeDatanet: () => ({ minSeq: 1, maxSeq: 40, count: 40 }),
      scoreBatch: (a) => ({ scored: a.toSeq - a.fromSeq + 1, accepted: a.toSeq - a.fromSeq + 1 }),
      dedupeBatch: () => ({ accepted: 20, duplicates: 0 }),
      countAwaitingApproval: () => 0,
      buildDataset: (a) => ({
        datasetVersionId: `dv-${a.datanetId}`,
        merkleRoot: 'root',
        manifestKey: `datasets/${a.datanetId}/manifest.jsonl`,
        recordCount: 40,
        contributors: 3,
      }),
    },
    training: {
      trainModel: (a) => ({
        runId: `${a.job.jobId}-run`,
        artifactKey: `${a.job.outputPrefix}/model.bin`,
        sha256: 'cd34',
        metrics: GOOD_METRICS,
        evalManifestKey: `${a.job.outputPrefix}/eval.jsonl`,
        resumedFromStep: 0,
      }),
      generateCandidates: (a) =>
        Array.from({ length: a.count }, (_, i) => ({
          promptId: `p${i}`,
          prompt: `prompt ${i}`,
          outputs: [
            { output: 'spam', score: 0.6 },
            { output: 'ham', score: 0.4 },
          ],
        })),
      preferenceUpdate: (a) => ({
        artifactKey: `${a.outputPrefix}/model.bin`,
        metrics: { ...GOOD_METRICS, accuracy: 0.92 },
      }),
    },
  };
}

/** A long activity (a GPU job) that heartbeats until the workflow cancels it. */
export async function runUntilCancelled(): Promise<never> {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await Promise.race([ctx.sleep(50), ctx.cancelled]);
  }
}
