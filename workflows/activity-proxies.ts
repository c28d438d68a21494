import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import { TASK_QUEUES } from '../contracts/task-queues.js';
import { LEDGER_NON_RETRYABLE, RECORD_READ_NON_RETRYABLE, TRAINING_NON_RETRYABLE } from '../contracts/error-types.js';
import type { LifecycleActivities } from '../activities/lifecycle/activities.js';
import type { DataActivities } from '../activities/data/activities.js';
import type { TrainingActivities } from '../activities/training/activities.js';
import type { RecordReadActivities } from '../activities/records/sealed-read.js';

/** Postgres, ledger and S3 bookkeeping: short, retried until they succeed unless retrying cannot help. */
export const lifecycle = proxyActivities<LifecycleActivities>({
  taskQueue: TASK_QUEUES.lifecycle,
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '500ms',
    maximumInterval: '30s',
    nonRetryableErrorTypes: LEDGER_NON_RETRYABLE,
  },
});

/**
 * Bookkeeping a person waits on in an Update's answer (a vote): run by the worker that holds the
 * workflow, inside the workflow task that accepts the Update, so the answer needs neither a trip
 * through the task queue nor a second workflow task. Retried like `lifecycle`; the row is idempotent.
 */
export const lifecycleLocal = proxyLocalActivities<Pick<LifecycleActivities, 'recordVote'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200ms', maximumInterval: '5s' },
});

export const DATA_OPTIONS: ActivityOptions = {
  taskQueue: TASK_QUEUES.data,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '1 minute' },
};
export const data = proxyActivities<DataActivities>(DATA_OPTIONS);

/** A person's sealed read: someone waits on it over HTTP, so a few quick attempts, then a clear failure. */
export const recordReads = proxyActivities<RecordReadActivities>({
  taskQueue: TASK_QUEUES.data,
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '500ms',
    maximumInterval: '5s',
    maximumAttempts: 3,
    nonRetryableErrorTypes: RECORD_READ_NON_RETRYABLE,
  },
});

/** GPU jobs: `maxAttempts` (a lifecycle parameter) bounds the retries, after which the stage fails. */
export function trainingOptions(heartbeatTimeoutMs: number, maxAttempts: number): ActivityOptions {
  return {
    taskQueue: TASK_QUEUES.training,
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: {
      initialInterval: '1s',
      maximumInterval: '1 minute',
      maximumAttempts: maxAttempts,
      nonRetryableErrorTypes: TRAINING_NON_RETRYABLE,
    },
  };
}
export function trainingActivities(heartbeatTimeoutMs: number, maxAttempts: number) {
  return proxyActivities<TrainingActivities>(trainingOptions(heartbeatTimeoutMs, maxAttempts));
}

export function rlhfActivities(heartbeatTimeoutMs: number, maxAttempts: number) {
  return proxyActivities<TrainingActivities>({
    taskQueue: TASK_QUEUES.rlhf,
    startToCloseTimeout: '6 hours',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: {
      initialInterval: '1s',
      maximumInterval: '1 minute',
      maximumAttempts: maxAttempts,
      nonRetryableErrorTypes: TRAINING_NON_RETRYABLE,
    },
  });
}
