import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { mapLimit } from '../../storage/map-limit.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Where one vote's time went, in ms, from the workflow's own history (event times are the server's clock). */
export interface VoteSteps {
  /** From the request leaving the client to the Update's workflow task being scheduled (API checks, frontend, history). */
  toServer: number;
  /** The Update's workflow task waiting in matching for a poller (schedule-to-start). */
  taskWait: number;
  /** That task on the worker, including what it ran inline (a local activity): start to completion. */
  taskRun: number;
  /** A recording activity, when the answer waited on one: in matching, then running. */
  activityWait?: number;
  activityRun?: number;
  /** The workflow task that completed the Update after that activity: waiting, then running. */
  secondTaskWait?: number;
  secondTaskRun?: number;
  /** From the Update completing in history to the client holding the answer (long poll, API, HTTP). */
  toClient: number;
}

const ms = (e: HistoryEvent | undefined): number | undefined =>
  e?.eventTime ? Number(e.eventTime.seconds ?? 0) * 1000 + (e.eventTime.nanos ?? 0) / 1e6 : undefined;
const id = (e: HistoryEvent) => Number(e.eventId ?? 0);

/** The scheduled, started and completed events of the workflow task that completed at or before `eventId`. */
function taskBefore(events: HistoryEvent[], eventId: number) {
  const completed = [...events].reverse().find((e) => id(e) <= eventId && e.workflowTaskCompletedEventAttributes);
  const a = completed?.workflowTaskCompletedEventAttributes;
  if (!completed || !a) return undefined;
  const byId = (x: unknown) => events.find((e) => id(e) === Number(x));
  return { scheduled: byId(a.scheduledEventId), started: byId(a.startedEventId), completed };
}

/** The steps of the first vote in one lifecycle's history, given when the client sent it and got the answer. */
export function voteSteps(events: HistoryEvent[], sentAt: number, answeredAt: number): VoteSteps | undefined {
  const accepted = events.find(
    (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'vote',
  );
  const updateId = accepted?.workflowExecutionUpdateAcceptedEventAttributes?.protocolInstanceId;
  const completed = events.find((e) => e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId === updateId);
  if (!accepted || !completed) return undefined;
  const first = taskBefore(events, id(accepted));
  const last = taskBefore(events, id(completed));
  if (!first || !last) return undefined;
  const diff = (a: HistoryEvent | undefined, b: HistoryEvent | undefined) => (ms(b) ?? NaN) - (ms(a) ?? NaN);
  const steps: VoteSteps = {
    toServer: (ms(first.scheduled) ?? NaN) - sentAt,
    taskWait: diff(first.scheduled, first.started),
    taskRun: diff(first.started, first.completed),
    toClient: answeredAt - (ms(completed) ?? NaN),
  };
  if (id(last.completed) !== id(first.completed)) {
    const scheduled = events.find(
      (e) =>
        id(e) > id(accepted) &&
        id(e) < id(last.completed) &&
        e.activityTaskScheduledEventAttributes?.activityType?.name,
    );
    const of = (kind: 'activityTaskStartedEventAttributes' | 'activityTaskCompletedEventAttributes') =>
      events.find((e) => scheduled && Number(e[kind]?.scheduledEventId) === id(scheduled));
    steps.activityWait = diff(scheduled, of('activityTaskStartedEventAttributes'));
    steps.activityRun = diff(of('activityTaskStartedEventAttributes'), of('activityTaskCompletedEventAttributes'));
    steps.secondTaskWait = diff(last.scheduled, last.started);
    steps.secondTaskRun = diff(last.started, last.completed);
  }
  return steps;
}

/** Fetches the histories of the voted lifecycles and breaks each vote into its steps. */
export async function collectVoteSteps(
  client: Client,
  votes: { workflowId: string; sentAt: number; answeredAt: number }[],
): Promise<VoteSteps[]> {
  const out: VoteSteps[] = [];
  await mapLimit(votes, 8, async (v) => {
    const history = await client.workflow.getHandle(v.workflowId).fetchHistory();
    const steps = voteSteps(history.events ?? [], v.sentAt, v.answeredAt);
    if (steps) out.push(steps);
  });
  return out;
}

const STEP_LABELS: [keyof VoteSteps, string][] = [
  ['toServer', 'request → Update task scheduled'],
  ['taskWait', 'Update task waiting'],
  ['taskRun', 'Update task on the worker'],
  ['activityWait', 'recording activity waiting'],
  ['activityRun', 'recording activity running'],
  ['secondTaskWait', 'answering task waiting'],
  ['secondTaskRun', 'answering task on the worker'],
  ['toClient', 'Update completed → answer at the client'],
];

/** One line per step: p50 and p99 over the votes that had it. */
export function describeVoteSteps(steps: VoteSteps[], pct: (xs: number[], p: number) => number): string[] {
  return STEP_LABELS.flatMap(([key, label]) => {
    const xs = steps.map((s) => s[key]).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return xs.length
      ? [
          `${label.padEnd(42)} p50 ${pct(xs, 50).toFixed(0).padStart(6)} ms, p99 ${pct(xs, 99).toFixed(0).padStart(6)} ms (n=${xs.length})`,
        ]
      : [];
  });
}

/** The p50 of each step on one line, for the side-by-side table. */
export function voteStepsFigure(steps: VoteSteps[], pct: (xs: number[], p: number) => number): string {
  return STEP_LABELS.flatMap(([key, label]) => {
    const xs = steps.map((s) => s[key]).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return xs.length ? [`${label} ${pct(xs, 50).toFixed(0)}`] : [];
  }).join('; ');
}
