import type postgres from 'postgres';
import type { Client } from '@temporalio/client';
import { statusQuery, tallyQuery } from '../contracts/messages.js';
import { workflowIds } from '../contracts/workflow-ids.js';
import { tally as computeTally, type TallyResult, type VoteOption } from '../domain/governance/tally.js';
import type { LifecycleParams, LifecycleStatusView, RlhfRoundSummary, EvalMetrics } from '../domain/lifecycle/types.js';
import { countContributionsByStatus, findPassProgress } from '../db/queries/contributions.js';
import { findFinalTally, listVotes, type Vote } from '../db/queries/governance.js';
import {
  findPowerSnapshot,
  listActivityProgress,
  listRoundTaskAnswers,
  type ActivityProgressRow,
  type PowerSnapshotRow,
  type RoundRow,
} from '../db/queries/lifecycle-views.js';
import { findTallyRow, type StatusRow } from '../db/queries/status-reads.js';
import { liveProgress, type ActivityProgress, type LiveProgress } from './progress.js';
import { liveReadDeadline, liveReadFailure, withinLiveDeadline } from './workflow-reads.js';
import { HttpError } from './errors.js';

/**
 * Status reads (docs/operations.md, "Status reads"): stage, status, tallies and progress come from the Postgres
 * read model that the workflows' activities keep current, so polling never wakes a workflow.
 * Only a caller who asks for live detail (`?live=1`) gets the workflow's query and Temporal's
 * pending activities.
 */

export interface LifecycleStatusRead {
  stage: string;
  status: string;
  reason: string | null;
  lifecycle?: LifecycleStatusView;
  progress?: LiveProgress;
  source: 'projection' | 'workflow';
  /** When the read model last changed at a stage transition (projection reads only). */
  projectedAt?: string;
  /** Why a live read (`?live=1`) was answered from the read model instead. */
  liveError?: string;
}

/**
 * Datanet counts are aggregates over the Datanet's rows: shared by concurrent readers for a second,
 * or for COUNTS_TTL_FACTOR times as long as the count took (a scan of a million rows takes over a
 * second), so however often clients poll, counting uses at most a tenth of one Postgres backend.
 */
const COUNTS_TTL_MS = 1000;
const COUNTS_TTL_FACTOR = 10;
const countsCache = new Map<string, { at: number; ttl: number; counts: Promise<Record<string, number>> }>();
function datanetCounts(sql: postgres.Sql, datanetId: string): Promise<Record<string, number>> {
  const now = Date.now();
  const hit = countsCache.get(datanetId);
  if (hit && now - hit.at < hit.ttl) return hit.counts;
  if (countsCache.size > 10_000) countsCache.clear();
  // Readers share a count in flight however long it takes.
  const entry = { at: now, ttl: Infinity, counts: countContributionsByStatus(sql, datanetId) };
  countsCache.set(datanetId, entry);
  entry.counts.then(
    () => (entry.ttl = Math.max(COUNTS_TTL_MS, (Date.now() - now) * COUNTS_TTL_FACTOR)),
    () => countsCache.delete(datanetId),
  );
  return entry.counts;
}

const voteMap = (votes: Pick<Vote, 'voter' | 'option'>[]): Record<string, VoteOption> =>
  Object.fromEntries(votes.map((v) => [v.voter, v.option as VoteOption]));

/** The open tally from the stored snapshot and the recorded votes (what the workflow counts). */
function liveTally(snap: PowerSnapshotRow, votes: Pick<Vote, 'voter' | 'option'>[]): TallyResult {
  return computeTally(snap.snapshot, voteMap(votes));
}

async function collectionProgress(
  sql: postgres.Sql,
  datanetId: string,
  d: NonNullable<StatusRow['datanet']>,
): Promise<LiveProgress['collection']> {
  // While a pass runs, its progress comes from the per-batch rows the passes write; counting the
  // records by status is a scan of every contribution row (over a second at 1M records).
  const pass = d.status === 'open' ? undefined : await findPassProgress(sql, datanetId);
  let counts: Pick<NonNullable<LiveProgress['collection']>, 'phase' | 'received' | 'scored' | 'accepted'>;
  if (pass && (pass.scored < pass.received || pass.deduped < pass.scoredPassing)) {
    const scoring = pass.scored < pass.received;
    counts = {
      phase: scoring ? 'scoring' : 'dedupe',
      received: pass.received,
      scored: pass.scored,
      accepted: scoring ? pass.scoredPassing : pass.dedupeAccepted,
    };
  } else {
    const c = await datanetCounts(sql, datanetId);
    const n = (s: string) => c[s] ?? 0;
    const received = Object.values(c).reduce((a, b) => a + b, 0);
    const phase = d.status === 'open' ? 'window' : n('pending') > 0 ? 'scoring' : n('scored') > 0 ? 'dedupe' : 'done';
    counts = {
      phase,
      received,
      scored: received - n('pending'),
      accepted: phase === 'window' || phase === 'scoring' ? n('scored') + n('accepted') : n('accepted'),
    };
  }
  return {
    ...counts,
    firstSeq: 0,
    cursor: 0,
    maxSeq: 0,
    windowClosesAt: d.closesAt?.getTime(),
    targetCount: d.targetCount,
  };
}

function activitiesOf(rows: ActivityProgressRow[]): ActivityProgress[] {
  return rows.map((r) => ({
    activity: r.activityType,
    attempt: r.attempt,
    state: 'running',
    lastHeartbeatAt: r.heartbeatAt.toISOString(),
    details: r.details,
  }));
}

const roundSummary = (r: RoundRow): RlhfRoundSummary => {
  const s = r.summary ?? {};
  return {
    round: r.round,
    tasks: Number(s.consensus ?? 0),
    answers: Number(s.answers ?? 0),
    artifactKey: r.artifactKey ?? '',
    metrics: r.metrics as EvalMetrics,
    rewarded: Number(s.rewarded ?? 0),
    penalised: (s.penalised as string[] | undefined) ?? [],
    applied: s.applied !== false,
  };
};

/**
 * The status of a lifecycle from Postgres alone (no workflow query, no describe), from its status
 * row (db/queries/status-reads.ts: one query). Only two parts read more: a collecting Datanet's
 * counts (an aggregate shared by concurrent readers for a second) and, in RLHF, the open round's
 * tasks and heartbeats (one more round trip).
 */
export async function projectedStatus(sql: postgres.Sql, s: StatusRow): Promise<LifecycleStatusRead> {
  const row = s.proposal;
  const stored = s.view;
  const out: LifecycleStatusRead = {
    stage: row.stage,
    status: row.status,
    reason: row.statusReason,
    source: 'projection',
    projectedAt: (stored?.updatedAt ?? row.updatedAt).toISOString(),
  };
  if (!stored) return out; // a lifecycle from before the read model, or one whose first transition is not recorded yet
  const view: LifecycleStatusView = { ...stored.view, stage: row.stage as LifecycleStatusView['stage'] };
  view.status = row.status as LifecycleStatusView['status'];
  if (row.statusReason !== null) view.reason = row.statusReason;
  const params = row.params as LifecycleParams;
  out.lifecycle = view;
  if (row.status !== 'running') return out;

  const progress: LiveProgress = {};
  if (row.stage === 'governance') {
    if (s.voting) {
      const opensAt = s.voting.snapshot.takenAt.getTime();
      view.governance = {
        ...view.governance,
        opensAt,
        closesAt: opensAt + params.governance.votingPeriodMs,
        snapshotTotal: s.voting.snapshot.total,
        voters: Object.keys(s.voting.snapshot.snapshot).length,
        tally: liveTally(s.voting.snapshot, s.voting.votes),
      };
    }
  } else if (row.stage === 'data-collection') {
    view.collection = { ...view.collection, datanetId: row.id };
    if (s.datanet) progress.collection = await collectionProgress(sql, row.id, s.datanet);
  } else if (row.stage === 'rlhf') {
    const rounds = (s.rounds ?? []).map(roundSummary);
    const round = Math.max(view.rlhf.round, Math.min(rounds.length + 1, params.rlhf.rounds));
    view.rlhf = { round, rounds };
    const [tasks, heartbeats] = await Promise.all([
      listRoundTaskAnswers(sql, row.id, round),
      listActivityProgress(sql, workflowIds.rlhfRound(row.id, round)),
    ]);
    progress.round = {
      round,
      open: tasks.some((t) => t.status === 'open'),
      tasks: tasks.map((t) => ({ id: t.id, answers: t.answers, required: t.required })),
    };
    progress.activities = activitiesOf(heartbeats);
  } else {
    progress.activities = activitiesOf(s.activities ?? []);
  }
  out.progress = progress;
  return out;
}

/**
 * The status as the workflow itself reports it (`?live=1`): a query, plus Temporal's pending
 * activities, all under one live-read deadline. When the workflow does not answer in time (no
 * worker polling) or no longer exists, the read model answers and `liveError` says why.
 */
export async function liveStatus(
  temporal: Client,
  sql: postgres.Sql,
  s: StatusRow,
  timeoutMs: number,
): Promise<LifecycleStatusRead> {
  let status: LifecycleStatusView;
  const deadline = liveReadDeadline(timeoutMs);
  try {
    status = await withinLiveDeadline(
      temporal,
      () => temporal.workflow.getHandle(workflowIds.lifecycle(s.proposal.id)).query(statusQuery),
      deadline,
    );
  } catch (err) {
    return { ...(await projectedStatus(sql, s)), liveError: liveReadFailure(err, timeoutMs) };
  }
  const progress = await liveProgress(temporal, s.proposal.id, status, deadline);
  return {
    stage: status.stage,
    status: status.status,
    reason: status.reason ?? s.proposal.statusReason,
    lifecycle: status,
    progress,
    source: 'workflow',
  };
}

export interface TallyRead {
  open: boolean;
  tally?: TallyResult;
  outcome: string | null;
  closedEarly: boolean | null;
  votes: Vote[];
  /** Why a live read (`?live=1`) fell back to Postgres. */
  liveError?: string;
}

/**
 * The governance tally from Postgres (one query): the final one once recorded, else the snapshot
 * and the votes recorded so far. `open` once the snapshot is stored and until the tally is final.
 */
export async function projectedTally(sql: postgres.Sql, proposalId: string): Promise<TallyRead | undefined> {
  const t = await findTallyRow(sql, proposalId);
  if (!t) return undefined;
  const { final, votes, snapshot: snap } = t;
  if (final)
    return {
      open: false,
      tally: {
        ...(snap ? liveTally(snap, votes) : {}),
        yes: final.yes,
        no: final.no,
        abstain: final.abstain,
        veto: final.veto,
        total: final.totalPower,
      } as TallyResult,
      outcome: final.outcome,
      closedEarly: final.closedEarly,
      votes,
    };
  if (!snap) return undefined;
  return {
    open: t.stage === 'governance' && t.status === 'running',
    tally: liveTally(snap, votes),
    outcome: null,
    closedEarly: null,
    votes,
  };
}

/**
 * The tally as the workflow reports it (`?live=1`), with the final tally and votes from Postgres.
 * When the workflow does not answer within the live-read deadline, the read model's tally answers.
 */
export async function liveTallyRead(temporal: Client, sql: postgres.Sql, proposalId: string, timeoutMs: number) {
  let live;
  try {
    live = await withinLiveDeadline(
      temporal,
      () => temporal.workflow.getHandle(workflowIds.lifecycle(proposalId)).query(tallyQuery),
      liveReadDeadline(timeoutMs),
    );
  } catch (err) {
    const projected = await projectedTally(sql, proposalId);
    return projected && { ...projected, liveError: liveReadFailure(err, timeoutMs) };
  }
  const [final, votes] = await Promise.all([findFinalTally(sql, proposalId), listVotes(sql, proposalId)]);
  if (!final && !live) return undefined;
  return {
    open: live?.open ?? false,
    tally:
      live?.tally ??
      (final
        ? { yes: final.yes, no: final.no, abstain: final.abstain, veto: final.veto, total: final.totalPower }
        : undefined),
    outcome: final?.outcome ?? live?.outcome ?? null,
    closedEarly: final?.closedEarly ?? null,
    votes,
  };
}

/**
 * A vote sent as soon as the read model shows voting open can reach the workflow a moment before
 * it has processed its snapshot: such a refusal is retried briefly instead of surfacing a 409.
 */
export async function whileVotingOpens<T>(sql: postgres.Sql, proposalId: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const opening =
        err instanceof HttpError && err.statusCode === 409 && /voting has not opened yet/.test(err.message);
      if (!opening || Date.now() > deadline || !(await findPowerSnapshot(sql, proposalId))) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
