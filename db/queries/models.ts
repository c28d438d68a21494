import type postgres from 'postgres';

/** Deployed models, their versions and the production pointer. */

export interface Model {
  name: string;
  developer: string;
  productionVersion: number | null;
}

export interface ModelVersion {
  version: number;
  status: string;
  prefix: string;
  sha256: string;
  merkleRoot: string | null;
  datasetVersionId: string | null;
  lineage: Record<string, unknown>;
  metrics: Record<string, unknown>;
  createdAt: Date;
}

/** What the inference endpoint needs to load and serve a version. */
export interface ServableVersion {
  artifactKey: string;
  sha256: string;
  proposalId: string;
  developer: string;
  manifestKey: string;
  /** The trainer kind and task recorded in the version's lineage (absent before they were recorded). */
  trainer?: string;
  task?: 'classification' | 'generation';
}

export async function findModel(sql: postgres.Sql, name: string): Promise<Model | undefined> {
  const [m] = await sql<{ name: string; developer: string; production_version: number | null }[]>`
    select * from models where name = ${name}`;
  return m && { name: m.name, developer: m.developer, productionVersion: m.production_version };
}

/** The production version of a model: undefined when there is no such model, null when none is in production. */
export async function findProductionVersion(sql: postgres.Sql, name: string): Promise<number | null | undefined> {
  const [m] = await sql<{ production_version: number | null }[]>`
    select production_version from models where name = ${name}`;
  return m?.production_version;
}

export async function listModelVersions(sql: postgres.Sql, name: string): Promise<ModelVersion[]> {
  const rows = await sql<
    {
      version: number;
      status: string;
      prefix: string;
      sha256: string;
      merkle_root: string | null;
      dataset_version_id: string | null;
      lineage: Record<string, unknown>;
      metrics: Record<string, unknown>;
      created_at: Date;
    }[]
  >`select version, status, prefix, sha256, merkle_root, dataset_version_id, lineage, metrics, created_at from model_versions where model_name = ${name} order by version`;
  return rows.map((v) => ({
    version: v.version,
    status: v.status,
    prefix: v.prefix,
    sha256: v.sha256,
    merkleRoot: v.merkle_root,
    datasetVersionId: v.dataset_version_id,
    lineage: v.lineage,
    metrics: v.metrics,
    createdAt: v.created_at,
  }));
}

/** A version's status (production, retired, candidate, abandoned), or undefined when there is none. */
export async function findModelVersionStatus(
  sql: postgres.Sql,
  name: string,
  version: number,
): Promise<string | undefined> {
  const [r] = await sql<{ status: string }[]>`
    select status from model_versions where model_name = ${name} and version = ${version}`;
  return r?.status;
}

export async function findServableVersion(
  sql: postgres.Sql,
  name: string,
  version: number,
): Promise<ServableVersion | undefined> {
  const [v] = await sql<
    {
      artifact_key: string;
      sha256: string;
      proposal_id: string;
      developer: string;
      manifest_key: string;
      trainer: string | null;
      task: string | null;
    }[]
  >`
    select v.artifact_key, v.sha256, v.proposal_id, m.developer, d.manifest_key,
      v.lineage->>'trainer' as trainer, v.lineage->>'task' as task from model_versions v
    join models m on m.name = v.model_name join dataset_versions d on d.id = v.dataset_version_id
    where v.model_name = ${name} and v.version = ${version}`;
  return (
    v && {
      artifactKey: v.artifact_key,
      sha256: v.sha256,
      proposalId: v.proposal_id,
      developer: v.developer,
      manifestKey: v.manifest_key,
      trainer: v.trainer ?? undefined,
      task: v.task === 'generation' || v.task === 'classification' ? v.task : undefined,
    }
  );
}

export interface ServedModel {
  name: string;
  developer: string;
  productionVersion: number;
  task: string | null;
  createdAt: Date;
}

/** Models with a production version (what the OpenAI-compatible GET /v1/models lists), by name. */
export async function listServedModels(
  sql: postgres.Sql,
  page: { limit: number; after?: string },
): Promise<ServedModel[]> {
  const rows = await sql<
    { name: string; developer: string; production_version: number; task: string | null; created_at: Date }[]
  >`
    select m.name, m.developer, m.production_version, v.lineage->>'task' as task, m.created_at from models m
    join model_versions v on v.model_name = m.name and v.version = m.production_version
    where m.production_version is not null and (${page.after ?? null}::text is null or m.name > ${page.after ?? null}::text)
    order by m.name limit ${page.limit}`;
  return rows.map((r) => ({
    name: r.name,
    developer: r.developer,
    productionVersion: Number(r.production_version),
    task: r.task,
    createdAt: r.created_at,
  }));
}

// ---------- the registry's writes (deployment activities) ----------

/** The production version's evaluation metrics, or undefined when the model serves nothing. */
export async function findProductionMetrics<M>(
  sql: postgres.Sql,
  name: string,
): Promise<{ version: number; metrics: M } | undefined> {
  const [row] = await sql<{ version: number; metrics: M }[]>`
    select v.version, v.metrics from models m join model_versions v on v.model_name = m.name and v.version = m.production_version
    where m.name = ${name}`;
  return row;
}

/** The dataset version the production version was trained on, or undefined when nothing is production. */
export async function findProductionDatasetVersion(sql: postgres.Sql, name: string): Promise<string | undefined> {
  const [m] = await sql`
    select v.dataset_version_id from models m join model_versions v on v.model_name = m.name and v.version = m.production_version
    where m.name = ${name}`;
  return m ? String(m.dataset_version_id) : undefined;
}

/** The version a proposal registered for a model (any status), if any. */
export async function findProposalModelVersion(
  sql: postgres.Sql,
  name: string,
  proposalId: string,
): Promise<{ version: number; prefix: string; sha256: string; status: string } | undefined> {
  const [mine] =
    await sql`select version, prefix, sha256, status from model_versions where model_name = ${name} and proposal_id = ${proposalId}`;
  return (
    mine && {
      version: Number(mine.version),
      prefix: String(mine.prefix),
      sha256: String(mine.sha256),
      status: String(mine.status),
    }
  );
}

/**
 * Reserves the next version number of a model for a proposal, as a `candidate` row, under a
 * per-model advisory lock: two proposals promoting one model at once get different versions, and a
 * retry finds its own reservation (and returns it).
 */
export async function reserveModelVersion(
  sql: postgres.Sql,
  v: {
    modelName: string;
    proposalId: string;
    sha256: string;
    datasetVersionId: string;
    merkleRoot: string;
    lineage: Record<string, unknown>;
    metrics: unknown;
  },
): Promise<number> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${`promote:${v.modelName}`}))`;
    const [again] =
      await tx`select version from model_versions where model_name = ${v.modelName} and proposal_id = ${v.proposalId}`;
    if (again) return Number(again.version);
    const [next] = await tx<
      { v: number }[]
    >`select coalesce(max(version), 0) + 1 as v from model_versions where model_name = ${v.modelName}`;
    const n = Number(next?.v ?? 1);
    const prefix = `models/${v.modelName}/${n}/`;
    await tx`
      insert into model_versions (model_name, version, proposal_id, prefix, artifact_key, sha256, dataset_version_id, merkle_root, lineage, metrics, status)
      values (${v.modelName}, ${n}, ${v.proposalId}, ${prefix}, ${`${prefix}model.bin`}, ${v.sha256}, ${v.datasetVersionId}, ${v.merkleRoot}, ${tx.json(v.lineage as never)}, ${tx.json(v.metrics as never)}, 'candidate')`;
    return n;
  });
}

/** Makes a version production (registering the model on its first); the one that was becomes retired. */
export async function setProduction(
  sql: postgres.Sql,
  m: { modelName: string; version: number; developer: string; proposalId: string },
): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`insert into models (name, developer, proposal_id) values (${m.modelName}, ${m.developer}, ${m.proposalId}) on conflict (name) do nothing`;
    await tx`update model_versions set status = 'production' where model_name = ${m.modelName} and version = ${m.version}`;
    await tx`update model_versions set status = 'retired' where model_name = ${m.modelName} and version <> ${m.version} and status = 'production'`;
    await tx`update models set production_version = ${m.version} where name = ${m.modelName}`;
  });
}

/** Nothing is production any more; the versions stay registered. */
export async function retireProduction(sql: postgres.Sql, modelName: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`update model_versions set status = 'retired' where model_name = ${modelName} and status = 'production'`;
    await tx`update models set production_version = null where name = ${modelName}`;
  });
}

/** A version a proposal staged but never made production is abandoned when its lifecycle ends. */
export async function abandonCandidateVersions(sql: postgres.Sql, proposalId: string): Promise<void> {
  await sql`update model_versions set status = 'abandoned' where proposal_id = ${proposalId} and status = 'candidate'`;
}
