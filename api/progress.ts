import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type QueryDefinition } from '@temporalio/common';
import { collectionProgressQuery, roundStatusQuery } from '../contracts/messages.js';
import type { LifecycleStatusView } from '../domain/lifecycle/types.js';
import { workflowIds } from '../contracts/workflow-ids.js';
import { withinLiveDeadline } from './workflow-reads.js';

export interface ActivityProgress {
  activity: string;
  attempt: number;
  state: string;
  lastHeartbeatAt?: string;
  details?: unknown;
  lastFailure?: string;
}

type QueryResult<Q> = Q extends QueryDefinition<infer R, infer _Args> ? R : never;

/** Live progress of the stage a lifecycle is in (only the parts that stage has). */
export interface LiveProgress {
  collection?: QueryResult<typeof collectionProgressQuery>;
  round?: QueryResult<typeof roundStatusQuery>;
  activities?: ActivityProgress[];
}

/** Pending activities of a workflow with their last heartbeat (training step and loss, scoring counts). */
export async function pendingActivities(temporal: Client, workflowId: string): Promise<ActivityProgress[]> {
  const d = await temporal.workflow.getHandle(workflowId).describe();
  return (d.raw.pendingActivities ?? []).map((a) => {
    const payload = a.heartbeatDetails?.payloads?.[0];
    const ts = a.lastHeartbeatTime?.seconds
      ? new Date(Number(a.lastHeartbeatTime.seconds) * 1000).toISOString()
      : undefined;
    return {
      activity: a.activityType?.name ?? 'unknown',
      attempt: a.attempt ?? 1,
      state: String(a.state ?? ''),
      lastHeartbeatAt: ts,
      details: payload ? defaultPayloadConverter.fromPayload(payload) : undefined,
      lastFailure: a.lastFailure?.message ?? undefined,
    };
  });
}

/**
 * Live progress for the stage a lifecycle is in: training heartbeats from the lifecycle's pending
 * activities, the Datanet's counts from its child workflow, and the open review round's answers.
 */
export async function liveProgress(
  temporal: Client,
  proposalId: string,
  status: LifecycleStatusView,
  deadline: number,
): Promise<LiveProgress> {
  const out: LiveProgress = {};
  // Each part is best effort under the read's one deadline (asked together, so a part that does
  // not answer costs the read at most that deadline, not one each): a part that does not answer
  // is left out.
  const safe = async <T>(fn: () => Promise<T>) => {
    try {
      return await withinLiveDeadline(temporal, fn, deadline);
    } catch {
      return undefined;
    }
  };
  if (status.status !== 'running') return out;
  if (status.stage === 'data-collection') {
    const wf = workflowIds.collection(proposalId);
    [out.collection, out.activities] = await Promise.all([
      safe(() => temporal.workflow.getHandle(wf).query(collectionProgressQuery)),
      safe(() => pendingActivities(temporal, wf)),
    ]);
  } else if (status.stage === 'rlhf') {
    const wf = workflowIds.rlhfRound(proposalId, status.rlhf.round);
    [out.round, out.activities] = await Promise.all([
      safe(() => temporal.workflow.getHandle(wf).query(roundStatusQuery)),
      safe(() => pendingActivities(temporal, wf)),
    ]);
  } else {
    out.activities = await safe(() => pendingActivities(temporal, workflowIds.lifecycle(proposalId)));
  }
  return out;
}
