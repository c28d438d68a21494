import type postgres from 'postgres';

/** Proposals: one row per lifecycle, written by the API at proposal time and updated by activities. */

export interface ProposalSummary {
  id: string;
  proposer: string;
  modelName: string;
  title: string;
  domain: string;
  stage: string;
  status: string;
  statusReason: string | null;
  stake: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ProposalRow extends ProposalSummary {
  description: string;
  rationale: string;
  labels: string[];
  datanetSpec: unknown;
  params: unknown;
  workflowId: string;
}

interface SummaryColumns {
  id: string;
  proposer: string;
  model_name: string;
  title: string;
  domain: string;
  stage: string;
  status: string;
  status_reason: string | null;
  stake: string;
  created_at: Date;
  updated_at: Date;
}

const toSummary = (r: SummaryColumns): ProposalSummary => ({
  id: r.id,
  proposer: r.proposer,
  modelName: r.model_name,
  title: r.title,
  domain: r.domain,
  stage: r.stage,
  status: r.status,
  statusReason: r.status_reason,
  stake: String(r.stake),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export async function proposalExists(sql: postgres.Sql, id: string): Promise<boolean> {
  const rows = await sql`select 1 from proposals where id = ${id}`;
  return rows.length > 0;
}

/** The proposer of a proposal, or undefined when there is none. */
export async function findProposer(sql: postgres.Sql, id: string): Promise<string | undefined> {
  const [row] = await sql<{ proposer: string }[]>`select proposer from proposals where id = ${id}`;
  return row?.proposer;
}

export interface NewProposal {
  id: string;
  proposer: string;
  modelName: string;
  title: string;
  description: string;
  rationale: string;
  domain: string;
  labels: string[];
  datanetSpec: unknown;
  params: unknown;
  stake: string;
  /** Treasury budget asked for (OPEN base units). */
  budget: string;
  workflowId: string;
}

/** Takes a transaction too: the API writes the row and the stake's escrow in one. */
export async function insertProposal(sql: postgres.Sql | postgres.TransactionSql, p: NewProposal): Promise<void> {
  await sql`
    insert into proposals (id, proposer, model_name, title, description, rationale, domain, labels, datanet_spec, params, stake, budget, workflow_id)
    values (${p.id}, ${p.proposer}, ${p.modelName}, ${p.title}, ${p.description}, ${p.rationale}, ${p.domain}, ${sql.json(p.labels)}, ${sql.json(p.datanetSpec as never)}, ${sql.json(p.params as never)}, ${p.stake}, ${p.budget}, ${p.workflowId})`;
}

export async function deleteProposal(sql: postgres.Sql, id: string): Promise<void> {
  await sql`delete from proposals where id = ${id}`;
}

/** Newest first, optionally filtered by stage and status. */
/**
 * A page of proposals, newest first, after the sort key `after` ([created_at as Postgres prints
 * it, id]: exact to the microsecond) of the previous page's last row; each row carries its own key.
 */
export async function listProposals(
  sql: postgres.Sql,
  q: { stage?: string; status?: string; limit: number; after?: readonly [string, string] },
): Promise<(ProposalSummary & { key: [string, string] })[]> {
  const [at, id] = q.after ?? [null, null];
  const rows = await sql<(SummaryColumns & { at: string })[]>`
    select id, proposer, model_name, title, domain, stage, status, status_reason, stake, created_at, updated_at,
      created_at::text as at from proposals
    where (${q.stage ?? null}::text is null or stage = ${q.stage ?? null}) and (${q.status ?? null}::text is null or status = ${q.status ?? null})
      and (${at}::timestamptz is null or (created_at, id) < (${at}::timestamptz, ${id}::text))
    order by created_at desc, id desc limit ${q.limit}`;
  return rows.map((r) => ({ ...toSummary(r), key: [r.at, r.id] }));
}

export async function findProposal(sql: postgres.Sql, id: string): Promise<ProposalRow | undefined> {
  const [r] = await sql<
    (SummaryColumns & {
      description: string;
      rationale: string;
      labels: string[];
      datanet_spec: unknown;
      params: unknown;
      workflow_id: string;
    })[]
  >`select * from proposals where id = ${id}`;
  return (
    r && {
      ...toSummary(r),
      description: r.description,
      rationale: r.rationale,
      labels: r.labels,
      datanetSpec: r.datanet_spec,
      params: r.params,
      workflowId: r.workflow_id,
    }
  );
}

/** The lifecycle parameters a proposal was started with, or undefined when there is none. */
export async function findProposalParams(sql: postgres.Sql, id: string): Promise<unknown> {
  const [row] = await sql<{ params: unknown }[]>`select params from proposals where id = ${id}`;
  return row?.params;
}

/** Lifecycles by stage and status (the metrics gauge). */
export async function countProposalsByStageStatus(
  sql: postgres.Sql,
): Promise<{ stage: string; status: string; count: number }[]> {
  const rows = await sql<
    { stage: string; status: string; n: number }[]
  >`select stage, status, count(*)::int as n from proposals group by stage, status`;
  return rows.map((r) => ({ stage: r.stage, status: r.status, count: r.n }));
}
