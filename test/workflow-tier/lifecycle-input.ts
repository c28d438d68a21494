import { merge, withDefaults, type DeepPartial } from '../../domain/lifecycle/params.js';
import type { LifecycleInput, LifecycleParams } from '../../domain/lifecycle/types.js';

/** Lifecycle parameters for the workflow tier: windows and deadlines that end a test in seconds. */
export const FAST: LifecycleParams = withDefaults({
  stake: '1000',
  governance: { votingPeriodMs: 20_000 },
  collection: { windowMs: 20_000, targetCount: 40, pollIntervalMs: 50, batchSize: 20, minAcceptedRecords: 10 },
  training: { heartbeatTimeoutMs: 5_000, maxAttempts: 3 },
  rlhf: { rounds: 0, roundDeadlineMs: 5_000, extensionMs: 1_000 },
  deployment: { minAccuracy: 0.7, minMacroF1: 0.6, maxRegression: 0.02 },
  serving: { rewardPool: '300', settlementPeriodMs: 60_000 },
});
export const PROPOSER = 'dev-1';

/** A spam classifier's lifecycle input with FAST parameters and `params` over them. */
export const lifecycleInput = (id: string, params: DeepPartial<LifecycleParams> = {}): LifecycleInput => ({
  proposalId: id,
  proposer: PROPOSER,
  modelName: `m-${id}`,
  title: 'Spam filter',
  description: 'classifies mail as spam or ham',
  domain: 'email spam',
  labels: ['spam', 'ham'],
  datanetSpec: {
    fields: [
      { name: 'text', type: 'string', required: true },
      { name: 'label', type: 'enum', values: ['spam', 'ham'], required: true },
    ],
    textField: 'text',
    labelField: 'label',
  },
  params: merge(FAST, params),
  budget: '800',
  task: 'classification',
});
