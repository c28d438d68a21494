import { Context } from '@temporalio/activity';
import type postgres from 'postgres';
import { deleteActivityProgress, upsertActivityProgress } from '../db/queries/lifecycle-views.js';

/**
 * Heartbeats that the API can read without asking Temporal: each heartbeat is also written to
 * `activity_progress` (keyed by workflow and activity id), so `GET /v1/proposals/:id` shows a
 * training step and loss from Postgres. Writes are chained in order and never fail the activity;
 * `done()` removes the row once the activity's work is finished.
 */
export function recordedHeartbeats(sql: postgres.Sql) {
  const ctx = Context.current();
  const { workflowExecution, activityId, activityType, attempt } = ctx.info;
  // An activity started outside a workflow has nowhere to show its progress but Temporal.
  const key = workflowExecution && { workflowId: workflowExecution.workflowId, activityId };
  let chain: Promise<void> = Promise.resolve();
  const write = (fn: () => Promise<void>) => {
    if (!key) return;
    chain = chain.then(fn).catch((err: unknown) => {
      ctx.log.warn('activity progress not recorded', { err: String(err) });
    });
  };
  return {
    heartbeat(details: unknown) {
      ctx.heartbeat(details);
      write(() => upsertActivityProgress(sql, { ...key!, activityType, attempt, details }));
    },
    async done() {
      write(() => deleteActivityProgress(sql, key!.workflowId, key!.activityId));
      await chain;
    },
  };
}
