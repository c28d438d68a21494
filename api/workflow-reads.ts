import { WorkflowNotFoundError, type Client, type WorkflowClientInterceptor } from '@temporalio/client';

/**
 * Every workflow query and describe this API process sends to Temporal, by kind. A query runs on
 * a worker (it wakes the workflow, replaying it if it is not cached); status reads should send
 * none of either, so `commons_api_workflow_reads_total` stays flat while dashboards poll.
 */
export const workflowReads = { query: 0, describe: 0 };

export const countWorkflowReads: WorkflowClientInterceptor = {
  async query(input, next) {
    workflowReads.query++;
    return next(input);
  },
  async describe(input, next) {
    workflowReads.describe++;
    return next(input);
  },
};

/**
 * When a live read that starts now must have its answer: one deadline for all of its parts.
 * `timeoutMs` is the configured wait (a query needs a worker polling its task queue).
 */
export const liveReadDeadline = (timeoutMs: number): number => Date.now() + timeoutMs;

/**
 * Runs a workflow query or describe under the live-read deadline. Without one, a query to a
 * workflow no worker is polling for (workers down, or mid-deploy) holds the HTTP request until
 * Temporal's own RPC timeout; with it, the caller is answered from the read model within seconds.
 * A read made of several calls passes the one `deadline` it started with, so the whole read, not
 * each call, is bounded.
 */
export function withinLiveDeadline<T>(temporal: Client, fn: () => Promise<T>, deadline: number): Promise<T> {
  return temporal.withDeadline(deadline, fn);
}

/** Why a live read fell back to the read model, in words for the caller. */
export function liveReadFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof WorkflowNotFoundError)
    return 'the workflow no longer exists (past retention); answered from the read model';
  return `the workflow did not answer within ${timeoutMs} ms (is a worker polling its task queue?); answered from the read model`;
}
