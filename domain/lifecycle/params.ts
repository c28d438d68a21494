import { DEFAULT_GOVERNANCE_PARAMS } from '../governance/tally.js';
import type { LifecycleParams } from './types.js';
import { merge } from '../deep-merge.js';

export { merge };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Production defaults (the design's parameters). Tests and the demo pass seconds instead of days. */
export const DEFAULT_PARAMS: LifecycleParams = {
  stake: '1000',
  governance: { ...DEFAULT_GOVERNANCE_PARAMS, votingPeriodMs: 3 * DAY },
  collection: {
    windowMs: 7 * DAY,
    targetCount: 10_000,
    pollIntervalMs: 60_000,
    batchSize: 1000,
    parallelism: 4,
    batchesPerRun: 200,
    minQuality: 0.3,
    minRelevance: 0.1,
    minAcceptedRecords: 20,
    keywords: [],
  },
  training: {
    trainer: 'embedded',
    hyperparams: { epochs: 10, learningRate: 2, l2: 1e-6, batchSize: 32, seed: 7, checkpointEvery: 50 },
    evalFraction: 0.2,
    heartbeatTimeoutMs: 60_000,
    maxAttempts: 10,
  },
  rlhf: {
    rounds: 1,
    promptsPerRound: 20,
    candidatesPerPrompt: 2,
    answersPerItem: 3,
    roundDeadlineMs: 2 * DAY,
    beta: 0.1,
    learningRate: 0.2,
    epochs: 3,
    maxEvalDrop: 0,
    agreementReward: '2',
    disagreementPenalty: '10',
    disagreementTolerance: 0.5,
    maxTasksPerReviewer: 50,
    goldPerRound: 2,
    lowAgreementSupport: 0.75,
    extraReviewers: 2,
    extensionMs: DAY,
  },
  deployment: { minAccuracy: 0.7, minMacroF1: 0.6, maxRegression: 0.02 },
  serving: {
    feePerCall: '10',
    shares: { developer: 0.3, contributors: 0.4, reviewers: 0.1, governors: 0.1, treasury: 0.1 },
    rewardPool: '0',
    settlementPeriodMs: DAY,
  },
};

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};

export function withDefaults(partial: DeepPartial<LifecycleParams> = {}): LifecycleParams {
  return merge(DEFAULT_PARAMS, partial);
}
