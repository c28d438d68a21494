import type postgres from 'postgres';
import { SETTLED_STATUSES } from '../../domain/data/datanet-access.js';

/** The public explorer's reads: Datanets by status, and each served model's calls, fees and contributors. */

export interface DatanetListRow {
  id: string;
  proposalId: string;
  status: string;
  spec: unknown;
  targetCount: number;
  closesAt: Date | null;
  submitted: number;
  accepted: number;
  decided: number;
  /** created_at as Postgres prints it (exact to the microsecond): the page's sort key with the id */
  at: string;
}

/**
 * A page of Datanets, newest first, after the sort key `after` ([created_at text, id]), with the
 * counts of their records. A Datanet whose lifecycle has ended reads as closed whatever its own row
 * says (as the contribution path does), so `status=open` lists only those that take records.
 */
export async function listDatanets(
  sql: postgres.Sql,
  q: { status?: string; limit: number; after?: readonly [string, string] },
): Promise<DatanetListRow[]> {
  const [at, id] = q.after ?? [null, null];
  const rows = await sql<
    {
      id: string;
      proposal_id: string;
      status: string;
      spec: unknown;
      target_count: number;
      closes_at: Date | null;
      at: string;
      submitted: number;
      accepted: number;
      decided: number;
    }[]
  >`
    select d.id, d.proposal_id, d.spec, d.target_count, d.closes_at, d.at, d.status,
      coalesce(c.submitted, 0)::int as submitted, coalesce(c.accepted, 0)::int as accepted,
      coalesce(c.decided, 0)::int as decided
    from (
      select d.id, d.proposal_id, d.spec, d.target_count, d.closes_at, d.created_at, d.created_at::text as at,
        case when d.status = 'open' and p.status is distinct from 'running' then 'closed' else d.status end as status
      from datanets d left join proposals p on p.id = d.proposal_id) d
    left join lateral (
      select count(*) as submitted, count(*) filter (where k.status = 'accepted') as accepted,
        count(*) filter (where k.status = any(${SETTLED_STATUSES as string[]}::text[])) as decided
      from contributions k where k.datanet_id = d.id) c on true
    where (${q.status ?? null}::text is null or d.status = ${q.status ?? null})
      and (${at}::timestamptz is null or (d.created_at, d.id) < (${at}::timestamptz, ${id}::text))
    order by d.created_at desc, d.id desc limit ${q.limit}`;
  return rows.map((r) => ({
    id: r.id,
    proposalId: r.proposal_id,
    status: r.status,
    spec: r.spec,
    targetCount: r.target_count,
    closesAt: r.closes_at,
    submitted: r.submitted,
    accepted: r.accepted,
    decided: r.decided,
    at: r.at,
  }));
}

export interface ModelUsage {
  calls: number;
  /** OPEN base units paid in fees, as a decimal string */
  fees: string;
  /** contributors by the attribution weight summed over the model's calls, highest first */
  topContributors: { contributor: string; weight: number; calls: number }[];
}

/** Calls, fees and the most attributed contributors of each named model (models with no call are absent). */
export async function modelUsage(
  sql: postgres.Sql,
  names: readonly string[],
  topN: number,
): Promise<Map<string, ModelUsage>> {
  if (!names.length) return new Map();
  const [totals, contributors] = await Promise.all([
    sql<{ model_name: string; calls: number; fees: string }[]>`
      select model_name, count(*)::int as calls, sum(fee)::text as fees from inference_calls
      where model_name = any(${names as string[]}::text[]) group by model_name`,
    sql<{ model_name: string; contributor: string; weight: number; calls: number }[]>`
      select model_name, contributor, weight, calls from (
        select c.model_name, a->>'contributor' as contributor, sum((a->>'weight')::float8) as weight,
          count(*)::int as calls,
          row_number() over (partition by c.model_name order by sum((a->>'weight')::float8) desc, a->>'contributor') as n
        from inference_calls c, jsonb_array_elements(case when jsonb_typeof(c.attribution) = 'array' then c.attribution else '[]'::jsonb end) a
        where c.model_name = any(${names as string[]}::text[]) group by c.model_name, a->>'contributor') t
      where n <= ${topN} order by model_name, n`,
  ]);
  const out = new Map<string, ModelUsage>();
  for (const t of totals) out.set(t.model_name, { calls: t.calls, fees: t.fees, topContributors: [] });
  for (const c of contributors)
    out.get(c.model_name)?.topContributors.push({ contributor: c.contributor, weight: c.weight, calls: c.calls });
  return out;
}
