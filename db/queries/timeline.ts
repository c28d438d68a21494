import type postgres from 'postgres';

/** Reads of a proposal's lifecycle page (GET /v1/proposals/:id/timeline) that no other read answers. */

export interface TimelineRound {
  round: number;
  status: string;
  metrics: unknown;
  summary: Record<string, unknown> | null;
}

/**
 * A proposal's RLHF rounds with their held-out metrics and settlement summaries, in order. Bounded:
 * a lifecycle runs at most its parameters' rounds (and never more than the limit).
 */
export async function listTimelineRounds(sql: postgres.Sql, proposalId: string, limit = 100): Promise<TimelineRound[]> {
  const rows = await sql<
    { round: number; status: string; metrics: unknown; summary: Record<string, unknown> | null }[]
  >`
    select round, status, metrics, summary from rlhf_rounds where proposal_id = ${proposalId} order by round limit ${limit}`;
  return rows.map((r) => ({ round: r.round, status: r.status, metrics: r.metrics, summary: r.summary }));
}

export interface SampleCall {
  id: string;
  version: number;
  fee: string;
  attribution: unknown;
  createdAt: Date;
}

/** The latest paid call of the version a proposal registered, with its attribution, if any. */
export async function findLatestPaidCall(
  sql: postgres.Sql,
  modelName: string,
  proposalId: string,
): Promise<SampleCall | undefined> {
  const [r] = await sql<{ id: string; version: number; fee: string; attribution: unknown; created_at: Date }[]>`
    select c.id, c.version, c.fee::text as fee, c.attribution, c.created_at
    from model_versions v cross join lateral (
      select * from inference_calls c where c.model_name = v.model_name and c.version = v.version
      order by c.created_at desc limit 1) c
    where v.model_name = ${modelName} and v.proposal_id = ${proposalId}`;
  return r && { id: r.id, version: Number(r.version), fee: r.fee, attribution: r.attribution, createdAt: r.created_at };
}
