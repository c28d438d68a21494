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
export async function listServedModels(sql: postgres.Sql, limit = 1000): Promise<ServedModel[]> {
  const rows = await sql<
    { name: string; developer: string; production_version: number; task: string | null; created_at: Date }[]
  >`
    select m.name, m.developer, m.production_version, v.lineage->>'task' as task, m.created_at from models m
    join model_versions v on v.model_name = m.name and v.version = m.production_version
    where m.production_version is not null order by m.name limit ${limit}`;
  return rows.map((r) => ({
    name: r.name,
    developer: r.developer,
    productionVersion: Number(r.production_version),
    task: r.task,
    createdAt: r.created_at,
  }));
}
