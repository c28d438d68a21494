import type { WorkflowClientInterceptor } from '@temporalio/client';

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
