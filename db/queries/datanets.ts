import type postgres from 'postgres';

/** Datanets (one per proposal) and the dataset versions built from them. */

export interface Datanet {
  id: string;
  proposalId: string;
  spec: unknown;
  status: string;
  targetCount: number;
  closesAt: Date | null;
  createdAt: Date;
}

export interface DatasetVersion {
  id: string;
  merkleRoot: string;
  manifestKey: string;
  recordCount: number;
}

export async function findDatanet(sql: postgres.Sql, id: string): Promise<Datanet | undefined> {
  const [d] = await sql<
    {
      id: string;
      proposal_id: string;
      spec: unknown;
      status: string;
      target_count: number;
      closes_at: Date | null;
      created_at: Date;
    }[]
  >`select * from datanets where id = ${id}`;
  return (
    d && {
      id: d.id,
      proposalId: d.proposal_id,
      spec: d.spec,
      status: d.status,
      targetCount: d.target_count,
      closesAt: d.closes_at,
      createdAt: d.created_at,
    }
  );
}

/**
 * The spec and status only (the contribution path, on every request). A Datanet whose lifecycle has
 * ended is closed whatever its own row says: no deposit can be taken that nothing would settle.
 */
export async function findDatanetSpec(
  sql: postgres.Sql,
  id: string,
): Promise<{ spec: unknown; status: string; proposalId: string } | undefined> {
  const [d] = await sql<{ spec: unknown; status: string; proposal_id: string }[]>`
    select d.spec, d.proposal_id,
      case when d.status = 'open' and p.status is distinct from 'running'
        then 'closed (its lifecycle is ' || coalesce(p.status, 'gone') || ')' else d.status end as status
    from datanets d left join proposals p on p.id = d.proposal_id where d.id = ${id}`;
  return d && { spec: d.spec, status: d.status, proposalId: d.proposal_id };
}

/** A Datanet's status with its proposal's proposer (who may close the window). */
export async function findDatanetStatusAndProposer(
  sql: postgres.Sql,
  id: string,
): Promise<{ status: string; proposer: string } | undefined> {
  const [d] = await sql<{ status: string; proposer: string }[]>`
    select d.status, p.proposer from datanets d join proposals p on p.id = d.proposal_id where d.id = ${id}`;
  return d;
}

/** The newest dataset version built from a Datanet, if any. */
export async function findLatestDatasetVersion(
  sql: postgres.Sql,
  datanetId: string,
): Promise<DatasetVersion | undefined> {
  const [v] = await sql<{ id: string; merkle_root: string; manifest_key: string; record_count: number }[]>`
    select id, merkle_root, manifest_key, record_count from dataset_versions where datanet_id = ${datanetId} order by version desc, created_at desc limit 1`;
  return v && { id: v.id, merkleRoot: v.merkle_root, manifestKey: v.manifest_key, recordCount: v.record_count };
}

/** Contributors with a positive attribution weight in a dataset version, by address (the reward splits). */
export async function positiveAttributionWeights(
  sql: postgres.Sql,
  datasetVersionId: string,
): Promise<{ contributor: string; weight: number }[]> {
  const rows =
    await sql`select contributor, weight from attribution_weights where dataset_version_id = ${datasetVersionId} and weight > 0 order by contributor`;
  return rows.map((w) => ({ contributor: String(w.contributor), weight: Number(w.weight) }));
}

/**
 * Marks a proposal's Datanet cancelled (the lifecycle ended without it), and writes the cancelled
 * row itself when the lifecycle reached data collection but its Datanet is not there yet: the
 * collection's `openDatanet` may still be in flight, and its insert (on conflict do nothing) then
 * finds this row instead of opening a Datanet nobody will close. A Datanet already closed keeps its
 * status. The Datanet's id is its proposal's (workflows/lifecycle.ts).
 */
export async function cancelDatanetOf(sql: postgres.Sql, proposalId: string): Promise<void> {
  await sql`
    insert into datanets (id, proposal_id, spec, status, target_count)
    select p.id, p.id, p.datanet_spec, 'cancelled', coalesce((p.params->'collection'->>'targetCount')::int, 0)
    from proposals p where p.id = ${proposalId} and p.stage not in ('proposed', 'governance')
    on conflict (id) do update set status = 'cancelled' where datanets.status = 'open'`;
  await sql`update datanets set status = 'cancelled' where proposal_id = ${proposalId} and status = 'open'`;
}

/** The Datanets of a proposal (one, when it collects data). */
export async function datanetIdsOfProposal(sql: postgres.Sql, proposalId: string): Promise<string[]> {
  return (await sql<{ id: string }[]>`select id from datanets where proposal_id = ${proposalId}`).map((d) => d.id);
}
