import type postgres from 'postgres';
import type { LifecycleStatusView } from '../../domain/lifecycle/types.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { budgetFlows, type BudgetRead } from '../budgets.js';
import type { ActivityProgressRow, PowerSnapshotRow, RoundRow, StoredView } from './lifecycle-views.js';
import type { FinalTally, Vote } from './governance.js';
import type { NewProposal } from './proposals.js';

/**
 * Status reads in one round trip (docs/operations.md, "Status reads"): dashboards, the console and the CLI poll
 * `GET /v1/proposals/:id` and `/tally`, so each answers from one indexed query returning one row.
 * The proposal row (by primary key) brings its read-model view, its budget and only the parts its
 * stage shows: the snapshot and votes while voting, the Datanet while collecting, the running
 * activities' heartbeats in the other stages, the finished rounds in RLHF. Each stage-gated
 * subquery has a condition on the proposal row alone, which Postgres plans as a one-time filter,
 * so the parts a stage does not show are never read.
 */

/** The proposal as written at creation (db/queries/proposals.ts), and where it stands now. */
export interface StatusProposal extends Omit<NewProposal, 'datanetSpec' | 'budget' | 'workflowId'> {
  stage: string;
  status: string;
  statusReason: string | null;
  updatedAt: Date;
}

export interface StatusRow {
  proposal: StatusProposal;
  budget: BudgetRead;
  view?: StoredView;
  /** While voting: the stored snapshot and each recorded vote (what the workflow counts). */
  voting?: { snapshot: PowerSnapshotRow; votes: { voter: string; option: string }[] };
  /** While collecting: the Datanet row (its counts are read separately, shared for a second). */
  datanet?: { status: string; targetCount: number; closesAt: Date | null };
  /** In the stages that run activities on the lifecycle workflow itself: their last heartbeats. */
  activities?: ActivityProgressRow[];
  /** In RLHF: the finished rounds. */
  rounds?: RoundRow[];
}

interface Columns {
  id: string;
  proposer: string;
  model_name: string;
  title: string;
  description: string;
  rationale: string;
  domain: string;
  labels: string[];
  params: unknown;
  stake: string;
  budget: string | null;
  budget_reserved: string | null;
  stage: string;
  status: string;
  status_reason: string | null;
  updated_at: Date;
  view: LifecycleStatusView | null;
  view_at: Date | null;
  paid: string;
  returned: string;
  left: string;
  snapshot: Record<string, string> | null;
  snapshot_total: string | null;
  snapshot_at: Date | null;
  votes: [string, string][] | null;
  datanet_status: string | null;
  datanet_target: number | null;
  datanet_closes_at: Date | null;
  activities:
    { activity_id: string; activity_type: string; attempt: number; details: unknown; heartbeat_at: string }[] | null;
  rounds:
    { round: number; artifact_key: string | null; metrics: unknown; summary: Record<string, unknown> | null }[] | null;
}

/** Everything a projected status read shows, in one query; undefined when there is no such proposal. */
export async function findStatusRow(sql: postgres.Sql, proposalId: string): Promise<StatusRow | undefined> {
  const lifecycleWorkflow = workflowIds.lifecycle(proposalId);
  const [r] = await sql<Columns[]>`
    select p.id, p.proposer, p.model_name, p.title, p.description, p.rationale, p.domain, p.labels, p.params,
      p.stake::text, p.budget::text, p.budget_reserved::text, p.stage, p.status, p.status_reason, p.updated_at,
      v.view, v.updated_at as view_at,
      f.paid, f.returned, f."left",
      s.snapshot, s.total::text as snapshot_total, s.taken_at as snapshot_at,
      (select json_agg(json_build_array(vo.voter, vo.option) order by vo.created_at)
        from votes vo where vo.proposal_id = p.id and p.status = 'running' and p.stage = 'governance') as votes,
      d.status as datanet_status, d.target_count as datanet_target, d.closes_at as datanet_closes_at,
      (select json_agg(json_build_object('activity_id', a.activity_id, 'activity_type', a.activity_type,
                'attempt', a.attempt, 'details', a.details, 'heartbeat_at', a.heartbeat_at) order by a.activity_id)
        from activity_progress a where a.workflow_id = ${lifecycleWorkflow}
          and p.status = 'running' and p.stage not in ('governance', 'data-collection', 'rlhf')) as activities,
      (select json_agg(json_build_object('round', rr.round, 'artifact_key', rr.artifact_key, 'metrics', rr.metrics,
                'summary', rr.summary) order by rr.round)
        from rlhf_rounds rr where rr.proposal_id = p.id and rr.status = 'done'
          and p.status = 'running' and p.stage = 'rlhf') as rounds
    from proposals p
    cross join lateral ${budgetFlows(sql, proposalId)} f
    left join lifecycle_views v on v.proposal_id = p.id
    left join governance_snapshots s on s.proposal_id = p.id and p.status = 'running' and p.stage = 'governance'
    left join datanets d on d.id = p.id and p.status = 'running' and p.stage = 'data-collection'
    where p.id = ${proposalId}`;
  if (!r) return undefined;
  const running = r.status === 'running';
  return {
    proposal: {
      id: r.id,
      proposer: r.proposer,
      modelName: r.model_name,
      title: r.title,
      description: r.description,
      rationale: r.rationale,
      domain: r.domain,
      labels: r.labels,
      params: r.params,
      stake: r.stake,
      stage: r.stage,
      status: r.status,
      statusReason: r.status_reason,
      updatedAt: r.updated_at,
    },
    budget: { asked: r.budget, reserved: r.budget_reserved, paid: r.paid, left: r.left, returned: r.returned },
    view: r.view && r.view_at ? { view: r.view, updatedAt: r.view_at } : undefined,
    voting:
      r.snapshot && r.snapshot_total !== null && r.snapshot_at
        ? {
            snapshot: { snapshot: r.snapshot, total: r.snapshot_total, takenAt: r.snapshot_at },
            votes: (r.votes ?? []).map(([voter, option]) => ({ voter, option })),
          }
        : undefined,
    datanet:
      r.datanet_status !== null
        ? { status: r.datanet_status, targetCount: r.datanet_target ?? 0, closesAt: r.datanet_closes_at }
        : undefined,
    activities:
      running && !['governance', 'data-collection', 'rlhf'].includes(r.stage)
        ? (r.activities ?? []).map((a) => ({
            activityId: a.activity_id,
            activityType: a.activity_type,
            attempt: a.attempt,
            details: a.details,
            heartbeatAt: new Date(a.heartbeat_at),
          }))
        : undefined,
    rounds:
      running && r.stage === 'rlhf'
        ? (r.rounds ?? []).map((x) => ({
            round: x.round,
            artifactKey: x.artifact_key,
            metrics: x.metrics,
            summary: x.summary,
          }))
        : undefined,
  };
}

export interface TallyRow {
  stage: string;
  status: string;
  snapshot?: PowerSnapshotRow;
  final?: Omit<FinalTally, 'closedAt'>;
  votes: Vote[];
}

/** A proposal's governance in one query: the stored snapshot, the final tally once recorded, every vote. */
export async function findTallyRow(sql: postgres.Sql, proposalId: string): Promise<TallyRow | undefined> {
  const [r] = await sql<
    {
      stage: string;
      status: string;
      snapshot: Record<string, string> | null;
      snapshot_total: string | null;
      snapshot_at: Date | null;
      yes: string | null;
      no: string | null;
      abstain: string | null;
      veto: string | null;
      total_power: string | null;
      outcome: string | null;
      closed_early: boolean | null;
      votes: [string, string, string, string][] | null;
    }[]
  >`
    select p.stage, p.status, s.snapshot, s.total::text as snapshot_total, s.taken_at as snapshot_at,
      t.yes::text, t.no::text, t.abstain::text, t.veto::text, t.total_power::text, t.outcome, t.closed_early,
      (select json_agg(json_build_array(vo.voter, vo.option, vo.power::text, vo.created_at) order by vo.created_at)
        from votes vo where vo.proposal_id = p.id) as votes
    from proposals p
    left join governance_snapshots s on s.proposal_id = p.id
    left join tallies t on t.proposal_id = p.id
    where p.id = ${proposalId}`;
  if (!r) return undefined;
  return {
    stage: r.stage,
    status: r.status,
    snapshot:
      r.snapshot && r.snapshot_total !== null && r.snapshot_at
        ? { snapshot: r.snapshot, total: r.snapshot_total, takenAt: r.snapshot_at }
        : undefined,
    final:
      r.outcome !== null
        ? {
            yes: r.yes ?? '0',
            no: r.no ?? '0',
            abstain: r.abstain ?? '0',
            veto: r.veto ?? '0',
            totalPower: r.total_power ?? '0',
            outcome: r.outcome,
            closedEarly: r.closed_early ?? false,
          }
        : undefined,
    votes: (r.votes ?? []).map(([voter, option, power, at]) => ({ voter, option, power, createdAt: new Date(at) })),
  };
}
