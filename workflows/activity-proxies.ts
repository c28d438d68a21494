import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { LifecycleActivities } from '../activities/lifecycle/activities.js';
import type { DataActivities } from '../activities/data/activities.js';
import type { TrainingActivities } from '../activities/training/activities.js';

/** Task queue names (mirrors infra/config.ts TASK_QUEUES; workflow code cannot import node config). */
export const QUEUES = { lifecycle: 'lifecycle', data: 'data-collection', training: 'gpu-training', rlhf: 'gpu-rlhf' } as const;

/** Postgres, ledger and S3 bookkeeping: short, retried until they succeed. */
export const lifecycle = proxyActivities<LifecycleActivities>({
  taskQueue: QUEUES.lifecycle,
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500ms', maximumInterval: '30s', nonRetryableErrorTypes: ['InsufficientFundsError', 'ObjectExistsError', 'IntegrityError'] },
});

export const DATA_OPTIONS: ActivityOptions = {
  taskQueue: QUEUES.data,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '1 minute' },
};
export const data = proxyActivities<DataActivities>(DATA_OPTIONS);

export function trainingOptions(heartbeatTimeoutMs: number): ActivityOptions {
  return {
    taskQueue: QUEUES.training,
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 10 },
  };
}
export function trainingActivities(heartbeatTimeoutMs: number) {
  return proxyActivities<TrainingActivities>(trainingOptions(heartbeatTimeoutMs));
}

export function rlhfActivities(heartbeatTimeoutMs: number) {
  return proxyActivities<TrainingActivities>({
    taskQueue: QUEUES.rlhf,
    startToCloseTimeout: '6 hours',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { initialInterval: '1s', maximumInterval: '1 minute', maximumAttempts: 10 },
  });
}
