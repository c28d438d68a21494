import type postgres from 'postgres';
import type { LifecycleStatus, LifecycleStatusView, Stage } from '../../domain/lifecycle/types.js';

/**
 * The lifecycle read model (docs/operations.md, "Status reads"): what the API answers status reads from, so a
 * read never wakes a workflow. Written by activities that already run at each transition.
 */

export interface StageTransition {
  proposalId: string;
  stage: Stage;
  status: LifecycleStatus;
  reason?: string;
  /** The workflow's status view at the transition; absent from lifecycles started before it was sent. */
  view: LifecycleStatusView;
}

/** Transitions only move forward: a stage entered is one more history entry, a final status one more step. */
export const viewVersion = (historyLength: number, status: LifecycleStatus) =>
  historyLength * 2 + (status === 'running' ? 0 : 1);

/**
 * The proposal's stage and status and the lifecycle's view, in one transaction: whoever reads the
 * row sees the view of the same transition. A retried (or late) earlier transition is ignored.
 */
export async function recordTransition(sql: postgres.Sql, t: StageTransition): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`update proposals set stage = ${t.stage}, status = ${t.status}, status_reason = ${t.reason ?? null}, updated_at = now() where id = ${t.proposalId}`;
    const view: LifecycleStatusView = { ...t.view, stage: t.stage, status: t.status, reason: t.reason };
    await tx`
      insert into lifecycle_views (proposal_id, view, version, updated_at)
      values (${t.proposalId}, ${tx.json(view as never)}, ${viewVersion(view.history.length, t.status)}, now())
      on conflict (proposal_id) do update set view = excluded.view, version = excluded.version, updated_at = now()
      where lifecycle_views.version <= excluded.version`;
  });
}

export interface StoredView {
  view: LifecycleStatusView;
  updatedAt: Date;
}

export async function findLifecycleView(sql: postgres.Sql, proposalId: string): Promise<StoredView | undefined> {
  const [r] = await sql<{ view: LifecycleStatusView; updated_at: Date }[]>`
    select view, updated_at from lifecycle_views where proposal_id = ${proposalId}`;
  return r && { view: r.view, updatedAt: r.updated_at };
}

export interface PowerSnapshotRow {
  snapshot: Record<string, string>;
  total: string;
  takenAt: Date;
}

/**
 * Stores the snapshot taken when voting opens, once: a retried snapshot activity gets the first
 * one back, so the power the workflow counts is the power the API shows.
 */
export async function storePowerSnapshot(
  sql: postgres.Sql,
  proposalId: string,
  snapshot: Record<string, string>,
  total: string,
): Promise<PowerSnapshotRow> {
  await sql`
    insert into governance_snapshots (proposal_id, snapshot, total) values (${proposalId}, ${sql.json(snapshot)}, ${total})
    on conflict (proposal_id) do nothing`;
  const stored = await findPowerSnapshot(sql, proposalId);
  if (!stored) throw new Error(`governance snapshot of ${proposalId} vanished`);
  return stored;
}

export async function findPowerSnapshot(sql: postgres.Sql, proposalId: string): Promise<PowerSnapshotRow | undefined> {
  const [r] = await sql<{ snapshot: Record<string, string>; total: string; taken_at: Date }[]>`
    select snapshot, total, taken_at from governance_snapshots where proposal_id = ${proposalId}`;
  return r && { snapshot: r.snapshot, total: String(r.total), takenAt: r.taken_at };
}

export interface ActivityProgressRow {
  activityId: string;
  activityType: string;
  attempt: number;
  details: unknown;
  heartbeatAt: Date;
}

/** The last heartbeat of a running activity (a later attempt replaces an earlier one's row). */
export async function upsertActivityProgress(
  sql: postgres.Sql,
  p: { workflowId: string; activityId: string; activityType: string; attempt: number; details: unknown },
): Promise<void> {
  await sql`
    insert into activity_progress (workflow_id, activity_id, activity_type, attempt, details, heartbeat_at)
    values (${p.workflowId}, ${p.activityId}, ${p.activityType}, ${p.attempt}, ${sql.json((p.details ?? null) as never)}, now())
    on conflict (workflow_id, activity_id) do update set activity_type = excluded.activity_type, attempt = excluded.attempt,
      details = excluded.details, heartbeat_at = excluded.heartbeat_at
    where activity_progress.attempt <= excluded.attempt`;
}

export async function deleteActivityProgress(sql: postgres.Sql, workflowId: string, activityId: string): Promise<void> {
  await sql`delete from activity_progress where workflow_id = ${workflowId} and activity_id = ${activityId}`;
}

export async function listActivityProgress(sql: postgres.Sql, workflowId: string): Promise<ActivityProgressRow[]> {
  const rows = await sql<
    { activity_id: string; activity_type: string; attempt: number; details: unknown; heartbeat_at: Date }[]
  >`select activity_id, activity_type, attempt, details, heartbeat_at from activity_progress where workflow_id = ${workflowId} order by activity_id`;
  return rows.map((r) => ({
    activityId: r.activity_id,
    activityType: r.activity_type,
    attempt: r.attempt,
    details: r.details,
    heartbeatAt: r.heartbeat_at,
  }));
}

/** A round's review tasks with how many answers each has (the round's live progress). */
export async function listRoundTaskAnswers(
  sql: postgres.Sql,
  proposalId: string,
  round: number,
): Promise<{ id: string; status: string; answers: number; required: number }[]> {
  return sql<{ id: string; status: string; answers: number; required: number }[]>`
    select t.id, t.status, t.required_answers as required,
           (select count(*)::int from review_answers a where a.task_id = t.id) as answers
    from review_tasks t where t.proposal_id = ${proposalId} and t.round = ${round} order by t.id`;
}

export interface RoundRow {
  round: number;
  artifactKey: string | null;
  metrics: unknown;
  summary: Record<string, unknown> | null;
}

/** Rounds that have finished (recordRound), in order. */
export async function listFinishedRounds(sql: postgres.Sql, proposalId: string): Promise<RoundRow[]> {
  const rows = await sql<
    { round: number; artifact_key: string | null; metrics: unknown; summary: Record<string, unknown> | null }[]
  >`select round, artifact_key, metrics, summary from rlhf_rounds where proposal_id = ${proposalId} and status = 'done' order by round`;
  return rows.map((r) => ({ round: r.round, artifactKey: r.artifact_key, metrics: r.metrics, summary: r.summary }));
}
