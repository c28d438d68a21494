import type postgres from 'postgres';
import type { TaskType } from '../../domain/lifecycle/types.js';
import type { ServingState } from '../../domain/serving/served-version.js';

/** Deployed models, their versions and the production pointer. */

export type ModelServingStatus = ServingState['status'];

export interface Model {
  name: string;
  developer: string;
  productionVersion: number | null;
  status: ModelServingStatus;
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
  /** The trainer kind and task recorded in the version's lineage. */
  trainer: string;
  task: TaskType;
}

export async function findModel(sql: postgres.Sql, name: string): Promise<Model | undefined> {
  const [m] = await sql<
    { name: string; developer: string; production_version: number | null; status: ModelServingStatus }[]
  >`select name, developer, production_version, status from models where name = ${name}`;
  return m && { name: m.name, developer: m.developer, productionVersion: m.production_version, status: m.status };
}

/**
 * What serves of a model: whether it is retired, its production version and each version's status
 * (the inference cache's view). Undefined when there is no such model.
 */
export async function findServingState(
  sql: postgres.Sql,
  name: string,
): Promise<
  { status: ModelServingStatus; productionVersion: number | null; versions: Map<number, string> } | undefined
> {
  const rows = await sql<
    {
      model_status: ModelServingStatus;
      production_version: number | null;
      version: number | null;
      status: string | null;
    }[]
  >`
    select m.status as model_status, m.production_version, v.version, v.status from models m
    left join model_versions v on v.model_name = m.name where m.name = ${name}`;
  const [first] = rows;
  if (!first) return undefined;
  const versions = new Map<number, string>();
  for (const r of rows) if (r.version !== null && r.status !== null) versions.set(Number(r.version), r.status);
  return { status: first.model_status, productionVersion: first.production_version, versions };
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

/** A version's status (candidate, production, superseded, retired, abandoned), or undefined when there is none. */
export async function findModelVersionStatus(
  sql: postgres.Sql,
  name: string,
  version: number,
): Promise<string | undefined> {
  const [r] = await sql<{ status: string }[]>`
    select status from model_versions where model_name = ${name} and version = ${version}`;
  return r?.status;
}

/** The proposal and developer behind a version (what its fee is decided by), without loading it. */
export async function findVersionOwner(
  sql: postgres.Sql,
  name: string,
  version: number,
): Promise<{ proposalId: string; developer: string } | undefined> {
  const [v] = await sql<{ proposal_id: string; developer: string }[]>`
    select v.proposal_id, m.developer from model_versions v join models m on m.name = v.model_name
    where v.model_name = ${name} and v.version = ${version}`;
  return v && { proposalId: v.proposal_id, developer: v.developer };
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
      task: TaskType | null;
    }[]
  >`
    select v.artifact_key, v.sha256, v.proposal_id, m.developer, d.manifest_key,
      v.lineage->>'trainer' as trainer, v.lineage->>'task' as task from model_versions v
    join models m on m.name = v.model_name join dataset_versions d on d.id = v.dataset_version_id
    where v.model_name = ${name} and v.version = ${version}`;
  if (!v) return undefined;
  // Every promotion records both in the lineage (workflows/lifecycle.ts); a row without them was not
  // written by a lifecycle and is not served on a guess.
  if (!v.trainer || (v.task !== 'classification' && v.task !== 'generation'))
    throw new Error(`model ${name}@${version} has no trainer or task in its lineage`);
  return {
    artifactKey: v.artifact_key,
    sha256: v.sha256,
    proposalId: v.proposal_id,
    developer: v.developer,
    manifestKey: v.manifest_key,
    trainer: v.trainer,
    task: v.task,
  };
}

export interface ServedModel {
  name: string;
  developer: string;
  productionVersion: number;
  task: TaskType;
  createdAt: Date;
}

/** Models with a production version (what the OpenAI-compatible GET /v1/models lists), by name. */
export async function listServedModels(
  sql: postgres.Sql,
  page: { limit: number; after?: string },
): Promise<ServedModel[]> {
  const rows = await sql<
    { name: string; developer: string; production_version: number; task: TaskType; created_at: Date }[]
  >`
    select m.name, m.developer, m.production_version, v.lineage->>'task' as task, m.created_at from models m
    join model_versions v on v.model_name = m.name and v.version = m.production_version
    where m.status = 'serving' and m.production_version is not null
      and (${page.after ?? null}::text is null or m.name > ${page.after ?? null}::text)
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

/**
 * Makes a version production (registering the model on its first); the one that was becomes
 * superseded. Refused (false, nothing written) when the model is retired: only a restore revives it.
 */
export async function setProduction(
  sql: postgres.Sql,
  m: { modelName: string; version: number; developer: string; proposalId: string },
): Promise<boolean> {
  return sql.begin(async (tx) => {
    await tx`insert into models (name, developer, proposal_id) values (${m.modelName}, ${m.developer}, ${m.proposalId}) on conflict (name) do nothing`;
    const [model] = await tx<{ status: ModelServingStatus }[]>`
      select status from models where name = ${m.modelName} for update`;
    if (model?.status !== 'serving') return false;
    await tx`update model_versions set status = 'production' where model_name = ${m.modelName} and version = ${m.version}`;
    await tx`update model_versions set status = 'superseded' where model_name = ${m.modelName} and version <> ${m.version} and status = 'production'`;
    await tx`update models set production_version = ${m.version} where name = ${m.modelName}`;
    return true;
  });
}

/**
 * Retires a model, durably: nothing serves any more (every served version becomes retired), the
 * production version is kept for a restore, and every later promotion or rollback is refused.
 * Idempotent.
 */
export async function retireProduction(sql: postgres.Sql, modelName: string): Promise<void> {
  await sql.begin(async (tx) => {
    const [m] = await tx<
      { status: ModelServingStatus }[]
    >`select status from models where name = ${modelName} for update`;
    if (m?.status !== 'serving') return;
    await tx`update models set status = 'retired', retired_version = production_version, production_version = null where name = ${modelName}`;
    await tx`update model_versions set status = 'retired' where model_name = ${modelName} and status in ('production', 'superseded')`;
  });
}

/** What a restore gives the model's entity workflow: its versions, production version and epoch counter. */
export interface RetiredModel {
  developer: string;
  retiredVersion: number;
  /** The proposal of the version that was production (its parameters give the settlement period). */
  proposalId: string;
  versions: { version: number; proposalId: string; createdAt: Date }[];
  /** The last reward epoch that collected anything (the next one must not reuse its keys). */
  epoch: number;
}

/** A retired model as the registry recorded it, or undefined when the model is not retired. */
export async function findRetiredModel(sql: postgres.Sql, name: string): Promise<RetiredModel | undefined> {
  const [m] = await sql<{ developer: string; retired_version: number | null }[]>`
    select developer, retired_version from models where name = ${name} and status = 'retired'`;
  if (!m || m.retired_version === null) return undefined;
  const versions = await sql<{ version: number; proposal_id: string; created_at: Date }[]>`
    select version, proposal_id, created_at from model_versions
    where model_name = ${name} and status = 'retired' order by version`;
  const production = versions.find((v) => Number(v.version) === Number(m.retired_version));
  if (!production) return undefined;
  const prefix = `model:${name}:epoch:`;
  const [e] = await sql<{ epoch: number | null }[]>`
    select max((regexp_match(substr(idempotency_key, ${prefix.length + 1}::int), '^([0-9]+):collect$'))[1]::int) as epoch
    from transfers where starts_with(idempotency_key, ${prefix})`;
  return {
    developer: m.developer,
    retiredVersion: Number(m.retired_version),
    proposalId: production.proposal_id,
    versions: versions.map((v) => ({ version: Number(v.version), proposalId: v.proposal_id, createdAt: v.created_at })),
    epoch: Number(e?.epoch ?? 0),
  };
}

/**
 * An admin's restore: the retired model serves again, the version that was production is
 * production again and the others are superseded. False when the model was not retired.
 */
export async function restoreRetiredModel(sql: postgres.Sql, name: string): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [m] = await tx<{ retired_version: number | null }[]>`
      select retired_version from models where name = ${name} and status = 'retired' for update`;
    if (!m || m.retired_version === null) return false;
    await tx`update model_versions set status = case when version = ${m.retired_version} then 'production' else 'superseded' end
      where model_name = ${name} and status = 'retired'`;
    await tx`update models set status = 'serving', production_version = retired_version, retired_version = null where name = ${name}`;
    return true;
  });
}

/** A version a proposal staged but never made production is abandoned when its lifecycle ends. */
export async function abandonCandidateVersions(sql: postgres.Sql, proposalId: string): Promise<void> {
  await sql`update model_versions set status = 'abandoned' where proposal_id = ${proposalId} and status = 'candidate'`;
}

// ---------- model names ----------

/**
 * Claims a model name for a developer's proposal, inside the transaction that writes the proposal.
 * The claim is one statement on the name's unique row: a fresh name is inserted, a claimed one is
 * locked and its owner returned, so two developers racing for one name serialise on that row. A
 * name whose owner has no running or serving lifecycle for it and no registered model is taken
 * over (checked under the row lock, after the racing transaction committed). Answers the other
 * owner when the name is not the caller's, undefined when the caller holds it.
 */
export async function claimModelName(
  tx: postgres.TransactionSql,
  c: { name: string; developer: string; proposalId: string },
): Promise<string | undefined> {
  const [row] = await tx<{ developer: string }[]>`
    insert into model_names (name, developer, proposal_id) values (${c.name}, ${c.developer}, ${c.proposalId})
    on conflict (name) do update set name = excluded.name returning developer`;
  const owner = row?.developer;
  if (owner === undefined || owner === c.developer) return undefined;
  const [live] = await tx`
    select 1 from proposals where model_name = ${c.name} and proposer = ${owner} and status in ('running', 'serving')
    union all select 1 from models where name = ${c.name} limit 1`;
  if (live) return owner;
  await tx`update model_names set developer = ${c.developer}, proposal_id = ${c.proposalId}, claimed_at = now() where name = ${c.name}`;
  return undefined;
}

/** Who owns a model name, or undefined when nobody claimed it. */
export async function findModelNameOwner(sql: postgres.Sql, name: string): Promise<string | undefined> {
  const [row] = await sql<{ developer: string }[]>`select developer from model_names where name = ${name}`;
  return row?.developer;
}
