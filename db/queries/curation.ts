import type postgres from 'postgres';
import { accountsOf } from '../../contracts/accounts.js';
import {
  RECORD_VALUE_EXPONENT,
  weightsFromTotals,
  type ContributorWeight,
} from '../../domain/data/attribution-weights.js';
import {
  accessOf,
  autoStatusOf,
  curatedStatus,
  SETTLED_STATUSES,
  type CurationDecision,
} from '../../domain/data/datanet-access.js';
import { depositOutcome } from '../../domain/data/deposits.js';
import type { RecordStatus } from '../../domain/data/attribution-weights.js';
import { postTransfers, type TransferInput } from '../ledger.js';

/**
 * Curated Datanets: curator decisions, their effect on record statuses, the dataset versions each
 * change of the accepted set makes, and the per-record deposits those statuses settle.
 * Everything that changes statuses or versions runs under the Datanet's dataset lock, so the
 * collection's own build and curators' decisions apply one after the other.
 */

type Tx = postgres.TransactionSql;

/** Serialises builds of a Datanet's dataset versions (transaction-scoped advisory lock). */
export async function lockDataset(tx: Tx, datanetId: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${'dataset:' + datanetId}, 0))`;
}

export interface DatanetCuration {
  proposalId: string;
  owner: string;
  spec: unknown;
  status: string;
  curators: string[];
}

/** A Datanet's owner (its proposer), spec and every curator (named in the spec or added by the owner). */
export async function findDatanetCuration(sql: postgres.Sql, id: string): Promise<DatanetCuration | undefined> {
  const [d] = await sql<{ proposal_id: string; proposer: string; spec: unknown; status: string; added: string[] }[]>`
    select d.proposal_id, p.proposer, d.spec, d.status,
      coalesce((select array_agg(curator order by curator) from datanet_curators c where c.datanet_id = d.id), '{}') as added
    from datanets d join proposals p on p.id = d.proposal_id where d.id = ${id}`;
  if (!d) return undefined;
  const named = accessOf(d.spec).curation?.curators ?? [];
  return {
    proposalId: d.proposal_id,
    owner: d.proposer,
    spec: d.spec,
    status: d.status,
    curators: [...new Set([...named, ...d.added])].sort(),
  };
}

export interface DecisionInput {
  hash: string;
  decision: CurationDecision;
  reason: string;
}

/**
 * Upserts decisions (the latest one stands). Returns, per input, whether it changed anything: the
 * same decision with the same reason again (a replayed approval) changes nothing. Unknown hashes
 * (not in this Datanet) are returned in `unknown` and not recorded.
 */
export async function recordDecisions(
  tx: Tx,
  datanetId: string,
  curator: string,
  decisions: DecisionInput[],
): Promise<{ changed: Set<string>; unknown: string[] }> {
  const hashes = decisions.map((d) => d.hash);
  const known = new Set(
    (
      await tx<{ hash: string }[]>`
      select hash from contributions where datanet_id = ${datanetId} and hash = any(${hashes}::text[])`
    ).map((r) => r.hash),
  );
  const unknown = hashes.filter((h) => !known.has(h));
  const ok = decisions.filter((d) => known.has(d.hash));
  if (ok.length === 0) return { changed: new Set(), unknown };
  const rows = await tx<{ hash: string }[]>`
    insert into curation_decisions (datanet_id, hash, decision, reason, curator)
    select ${datanetId}, * from unnest(${ok.map((d) => d.hash)}::text[], ${ok.map((d) => d.decision)}::text[],
      ${ok.map((d) => d.reason)}::text[], ${ok.map(() => curator)}::text[])
    on conflict (datanet_id, hash) do update set decision = excluded.decision, reason = excluded.reason,
      curator = excluded.curator, decided_at = now()
    where curation_decisions.decision is distinct from excluded.decision or curation_decisions.reason is distinct from excluded.reason
    returning hash`;
  return { changed: new Set(rows.map((r) => r.hash)), unknown };
}

/**
 * Applies decisions (and requireApproval) to the statuses of records whose scoring is done, by the
 * rule in domain/data/datanet-access.ts (curatedStatus). Idempotent; returns how many changed.
 */
export async function applyCuration(tx: Tx, datanetId: string, spec: unknown): Promise<number> {
  const requireApproval = accessOf(spec).curation?.requireApproval === true;
  const rows = await tx<{ hash: string; status: string; decision: string | null; auto_status: string | null }[]>`
    select c.hash, c.status, d.decision, d.auto_status from contributions c
    left join curation_decisions d on d.datanet_id = c.datanet_id and d.hash = c.hash
    where c.datanet_id = ${datanetId}
      and (d.hash is not null or c.status = 'awaiting-approval' or (${requireApproval} and c.status = 'accepted'))`;
  const upd: { hash: string; status: string; auto: string | null }[] = [];
  for (const r of rows) {
    const auto = autoStatusOf(r.auto_status ?? r.status);
    if (!auto) continue; // not scored yet: applied at the build
    const next = curatedStatus(auto, (r.decision as CurationDecision | null) ?? null, requireApproval);
    const recordAuto = r.decision !== null && r.auto_status === null;
    if (next !== r.status || recordAuto) upd.push({ hash: r.hash, status: next, auto: recordAuto ? auto : null });
  }
  if (upd.length === 0) return 0;
  await tx`
    update contributions c set status = u.status
    from (select unnest(${upd.map((u) => u.hash)}::text[]) as hash, unnest(${upd.map((u) => u.status)}::text[]) as status) u
    where c.datanet_id = ${datanetId} and c.hash = u.hash and c.status <> u.status`;
  const autos = upd.filter((u) => u.auto !== null);
  if (autos.length)
    await tx`
      update curation_decisions d set auto_status = u.auto
      from (select unnest(${autos.map((u) => u.hash)}::text[]) as hash, unnest(${autos.map((u) => u.auto!)}::text[]) as auto) u
      where d.datanet_id = ${datanetId} and d.hash = u.hash and d.auto_status is null`;
  return upd.length;
}

/** Idempotency key of a record's deposit at ingest, and of its one settlement (refund or forfeit). */
export const depositKeys = {
  deposit: (datanetId: string, hash: string) => `deposit:${datanetId}:${hash}`,
  settle: (datanetId: string, hash: string) => `deposit:${datanetId}:${hash}:settle`,
};

/**
 * Settles the deposit of every record whose fate is known and whose deposit is not settled yet:
 * refunded to its contributor when accepted, forfeited to the treasury otherwise. Each record has
 * one settlement key, so it settles exactly once whatever runs this and however often. Only while
 * the lifecycle runs: its ending refunds what is still held (refundHeldDeposits), and a curator's
 * decision after it changes versions and weights, never money.
 */
export async function settleDeposits(
  tx: Tx,
  datanetId: string,
  proposalId: string,
): Promise<{ refunded: number; forfeited: number }> {
  const rows = await tx<{ hash: string; contributor: string; status: string; amount: string }[]>`
    select c.hash, c.contributor, c.status, t.amount::text as amount from contributions c
    join transfers t on t.idempotency_key = 'deposit:' || c.datanet_id || ':' || c.hash
    where c.datanet_id = ${datanetId} and c.status = any(${SETTLED_STATUSES as string[]}::text[])
      and exists (select 1 from proposals p where p.id = ${proposalId} and p.status = 'running')
      and not exists (select 1 from transfers s where s.idempotency_key = 'deposit:' || c.datanet_id || ':' || c.hash || ':settle')`;
  let refunded = 0;
  let forfeited = 0;
  const escrow = accountsOf.datanetDeposits(datanetId);
  const ts: TransferInput[] = rows.map((r) => {
    const refund = depositOutcome(r.status as RecordStatus) === 'refund';
    if (refund) refunded++;
    else forfeited++;
    return {
      idempotencyKey: depositKeys.settle(datanetId, r.hash),
      asset: 'OPEN',
      from: escrow,
      to: refund ? r.contributor : accountsOf.treasury,
      amount: r.amount,
      reason: refund
        ? 'submission deposit refunded (record accepted)'
        : `submission deposit forfeited (record ${r.status})`,
      proposalId,
      memo: { datanetId, hash: r.hash, status: r.status },
    };
  });
  for (let i = 0; i < ts.length; i += 5000) await postTransfers(tx, ts.slice(i, i + 5000));
  return { refunded, forfeited };
}

/**
 * Refunds every deposit still held, at the lifecycle's ending: the records nobody decided (awaiting
 * a curator, or not scored when the lifecycle stopped). Under the dataset lock, so a curator's
 * decision lands wholly before (and settles its records by its rule) or wholly after, when every
 * deposit already has its settlement and the decision moves nothing.
 */
export async function refundHeldDeposits(tx: Tx, datanetId: string, proposalId: string): Promise<number> {
  await lockDataset(tx, datanetId);
  const rows = await tx<{ hash: string; contributor: string; amount: string }[]>`
    select c.hash, c.contributor, t.amount::text as amount from contributions c
    join transfers t on t.idempotency_key = 'deposit:' || c.datanet_id || ':' || c.hash
    where c.datanet_id = ${datanetId}
      and not exists (select 1 from transfers s where s.idempotency_key = 'deposit:' || c.datanet_id || ':' || c.hash || ':settle')`;
  const ts: TransferInput[] = rows.map((r) => ({
    idempotencyKey: depositKeys.settle(datanetId, r.hash),
    asset: 'OPEN',
    from: accountsOf.datanetDeposits(datanetId),
    to: r.contributor,
    amount: r.amount,
    reason: 'submission deposit refunded (Datanet ended before the record was decided)',
    proposalId,
    memo: { datanetId, hash: r.hash },
  }));
  for (let i = 0; i < ts.length; i += 5000) await postTransfers(tx, ts.slice(i, i + 5000));
  return ts.length;
}

/**
 * The hashes of a dataset version's records: accepted and not erased. An erasure is a row beside the
 * record, not a status, so the scoring passes (which rewrite statuses on retry) cannot undo it.
 */
export async function acceptedHashes(tx: Tx | postgres.Sql, datanetId: string): Promise<string[]> {
  const rows = await tx<{ hash: string }[]>`
    select hash from contributions c where datanet_id = ${datanetId} and status = 'accepted'
      and not exists (select 1 from record_erasures e where e.datanet_id = c.datanet_id and e.hash = c.hash)
    order by hash`;
  return rows.map((r) => r.hash);
}

/** Where an accepted record's payload is (storage/packs.ts RecordRef), with what the manifest carries besides. */
export interface RecordSource {
  hash: string;
  contributor: string;
  s3_key: string;
  pack_offset: string;
  pack_length: number;
  label: string | null;
}

export async function recordSources(
  sql: Tx | postgres.Sql,
  datanetId: string,
  hashes: string[],
): Promise<RecordSource[]> {
  return sql<RecordSource[]>`
    select hash, contributor, s3_key, pack_offset, pack_length, label from contributions where datanet_id = ${datanetId} and hash = any(${hashes}::text[])`;
}

export interface VersionRow {
  id: string;
  version: number;
  merkleRoot: string;
  manifestKey: string;
  recordCount: number;
  cause: string | null;
  createdAt: Date;
}

/** A Datanet's dataset versions in order; `page` asks for `limit` of them after version `after`. */
export async function listDatasetVersions(
  sql: Tx | postgres.Sql,
  datanetId: string,
  page: { limit?: number; after?: number } = {},
): Promise<VersionRow[]> {
  const rows = await sql<
    {
      id: string;
      version: number;
      merkle_root: string;
      manifest_key: string;
      record_count: number;
      cause: string | null;
      created_at: Date;
    }[]
  >`select id, version, merkle_root, manifest_key, record_count, cause, created_at from dataset_versions
    where datanet_id = ${datanetId} and (${page.after ?? null}::int is null or version > ${page.after ?? null}::int)
    order by version limit ${page.limit ?? null}`;
  return rows.map((r) => ({
    id: r.id,
    version: r.version,
    merkleRoot: r.merkle_root,
    manifestKey: r.manifest_key,
    recordCount: r.record_count,
    cause: r.cause,
    createdAt: r.created_at,
  }));
}

export const datasetVersionId = (datanetId: string, version: number) => `${datanetId}-v${version}`;

/**
 * Records a dataset version and its contributors' attribution weights (from the records' current
 * statuses: additive per record, domain/data/attribution-weights.ts). Idempotent per version id.
 */
export async function recordDatasetVersion(
  tx: Tx,
  v: {
    datanetId: string;
    proposalId: string;
    version: number;
    manifestKey: string;
    merkleRoot: string;
    recordCount: number;
    cause: string | null;
  },
): Promise<{ id: string; weights: ContributorWeight[] }> {
  const id = datasetVersionId(v.datanetId, v.version);
  // An erased record counts as neither accepted nor rejected: it left the Datanet.
  const totals = await tx`
    select contributor,
           coalesce(sum(power(quality * relevance, ${RECORD_VALUE_EXPONENT}::float8)) filter (where status = 'accepted' and not erased), 0)::float8 as raw,
           count(*) filter (where status = 'accepted' and not erased)::int as accepted,
           count(*) filter (where status <> 'accepted' and not erased)::int as rejected
    from (select c.contributor, c.status, c.quality, c.relevance,
            exists (select 1 from record_erasures e where e.datanet_id = c.datanet_id and e.hash = c.hash) as erased
          from contributions c where c.datanet_id = ${v.datanetId}) c
    group by contributor order by contributor`;
  const weights = weightsFromTotals(
    totals.map((t) => ({
      contributor: t.contributor as string,
      rawScore: t.raw as number,
      accepted: t.accepted as number,
      rejected: t.rejected as number,
    })),
  );
  await tx`
    insert into dataset_versions (id, datanet_id, proposal_id, version, cause, manifest_key, merkle_root, record_count)
    values (${id}, ${v.datanetId}, ${v.proposalId}, ${v.version}, ${v.cause}, ${v.manifestKey}, ${v.merkleRoot}, ${v.recordCount})
    on conflict (id) do update set manifest_key = excluded.manifest_key, merkle_root = excluded.merkle_root, record_count = excluded.record_count`;
  await tx`delete from attribution_weights where dataset_version_id = ${id}`;
  if (weights.length)
    await tx`
      insert into attribution_weights (dataset_version_id, contributor, raw_score, weight, accepted, rejected)
      select ${id}, * from unnest(${weights.map((w) => w.contributor)}::text[], ${weights.map((w) => w.rawScore)}::float8[],
        ${weights.map((w) => w.weight)}::float8[], ${weights.map((w) => w.accepted)}::int[], ${weights.map((w) => w.rejected)}::int[])`;
  return { id, weights };
}

/** Records of a Datanet still waiting for a curator: scored or not, with no decision yet. */
export async function curationQueue(
  sql: postgres.Sql,
  datanetId: string,
  page: { limit: number; after?: readonly [number, number] },
): Promise<
  {
    /** The row's sort key: [1 when awaiting approval else 0, seq]. */
    key: [number, number];
    hash: string;
    contributor: string;
    status: string;
    quality: number | null;
    relevance: number | null;
    reasons: string[] | null;
    /** Where the payload is (storage/packs.ts RecordRef). */
    s3Key: string;
    packOffset: number;
    packLength: number;
  }[]
> {
  const rows = await sql<
    {
      hash: string;
      contributor: string;
      status: string;
      quality: number | null;
      relevance: number | null;
      reasons: string[] | null;
      s3_key: string;
      pack_offset: string;
      pack_length: number;
      awaiting: number;
      seq: string;
    }[]
  >`
    select c.hash, c.contributor, c.status, c.quality, c.relevance, c.reasons, c.s3_key, c.pack_offset, c.pack_length,
      (c.status = 'awaiting-approval')::int as awaiting, c.seq from contributions c
    where c.datanet_id = ${datanetId} and c.status not in ('duplicate', 'near-duplicate')
      and not exists (select 1 from curation_decisions d where d.datanet_id = c.datanet_id and d.hash = c.hash)
      and not exists (select 1 from record_erasures e where e.datanet_id = c.datanet_id and e.hash = c.hash)
      and (${page.after?.[0] ?? null}::int is null
        or (-(c.status = 'awaiting-approval')::int, c.seq) > (-${page.after?.[0] ?? 0}::int, ${page.after?.[1] ?? 0}::bigint))
    order by (c.status = 'awaiting-approval') desc, c.seq limit ${page.limit}`;
  return rows.map(({ s3_key, pack_offset, pack_length, awaiting, seq, ...r }) => ({
    key: [awaiting, Number(seq)],
    ...r,
    s3Key: s3_key,
    packOffset: Number(pack_offset),
    packLength: pack_length,
  }));
}

/** Records the collection must still see decided before it builds (requireApproval). */
export async function countAwaitingApproval(sql: postgres.Sql, datanetId: string): Promise<number> {
  const [r] = await sql<{ n: number }[]>`
    select count(*)::int as n from contributions c where c.datanet_id = ${datanetId} and c.status = 'accepted'
      and not exists (select 1 from curation_decisions d where d.datanet_id = c.datanet_id and d.hash = c.hash)
      and not exists (select 1 from record_erasures e where e.datanet_id = c.datanet_id and e.hash = c.hash)`;
  return r?.n ?? 0;
}

export interface ContributorRecord {
  hash: string;
  status: string;
  quality: number | null;
  relevance: number | null;
  reasons: string[] | null;
  duplicateOf: string | null;
  decision: string | null;
  decisionReason: string | null;
  deposit: string | null;
  depositOutcome: 'held' | 'refunded' | 'forfeited' | null;
  createdAt: Date;
}

/**
 * A page of a contributor's records in a Datanet (in submission order, after seq `page.after`),
 * with curator decisions and the fate of each deposit.
 */
export async function contributorRecords(
  sql: postgres.Sql,
  datanetId: string,
  contributor: string,
  page: { limit: number; after?: number },
): Promise<(ContributorRecord & { seq: number })[]> {
  const rows = await sql<
    {
      hash: string;
      status: string;
      quality: number | null;
      relevance: number | null;
      reasons: string[] | null;
      duplicate_of: string | null;
      decision: string | null;
      reason: string | null;
      deposit: string | null;
      settled_to: string | null;
      created_at: Date;
      seq: string;
    }[]
  >`
    select c.seq, c.hash, c.status, c.quality, c.relevance, c.reasons, c.duplicate_of, d.decision, d.reason,
      t.amount::text as deposit, s.to_account as settled_to, c.created_at
    from contributions c
    left join curation_decisions d on d.datanet_id = c.datanet_id and d.hash = c.hash
    left join transfers t on t.idempotency_key = 'deposit:' || c.datanet_id || ':' || c.hash
    left join transfers s on s.idempotency_key = 'deposit:' || c.datanet_id || ':' || c.hash || ':settle'
    where c.datanet_id = ${datanetId} and c.contributor = ${contributor}
      and (${page.after ?? null}::bigint is null or c.seq > ${page.after ?? null}::bigint)
    order by c.seq limit ${page.limit}`;
  return rows.map((r) => ({
    seq: Number(r.seq),
    hash: r.hash,
    status: r.status,
    quality: r.quality,
    relevance: r.relevance,
    reasons: r.reasons,
    duplicateOf: r.duplicate_of,
    decision: r.decision,
    decisionReason: r.reason,
    deposit: r.deposit,
    depositOutcome:
      r.deposit === null
        ? null
        : r.settled_to === null
          ? 'held'
          : r.settled_to === contributor
            ? 'refunded'
            : 'forfeited',
    createdAt: r.created_at,
  }));
}

/** The scores of a contributor's accepted records in submission order: what their earnings are split by. */
export async function acceptedRecordScores(
  sql: postgres.Sql,
  datanetId: string,
  contributor: string,
): Promise<{ hash: string; quality: number | null; relevance: number | null }[]> {
  return sql<{ hash: string; quality: number | null; relevance: number | null }[]>`
    select hash, quality, relevance from contributions
    where datanet_id = ${datanetId} and contributor = ${contributor} and status = 'accepted' order by seq`;
}

/** What a contributor was paid for a Datanet's dataset versions (reward pool and serving epochs). */
export async function contributorEarnings(sql: postgres.Sql, datanetId: string, contributor: string): Promise<bigint> {
  const [r] = await sql<{ earned: string | null }[]>`
    select sum(amount)::text as earned from transfers
    where to_account = ${contributor}
      and memo->>'datasetVersionId' in (select id from dataset_versions where datanet_id = ${datanetId})`;
  return BigInt(r?.earned ?? '0');
}

/**
 * A page of the acceptance-rate leaderboard: per contributor, records submitted, accepted and
 * decided, ordered as domain/data/datanet-access.ts `leaderboard` orders them (rate, then accepted,
 * descending; then address), after the sort key `after` of the previous page's last row.
 */
export async function acceptanceCounts(
  sql: postgres.Sql,
  datanetId: string,
  page: { limit: number; after?: readonly [number, number, string] },
): Promise<{ contributor: string; submitted: number; accepted: number; decided: number; rate: number }[]> {
  const [rate, accepted, contributor] = page.after ?? [null, null, null];
  return sql<{ contributor: string; submitted: number; accepted: number; decided: number; rate: number }[]>`
    select * from (
      select contributor, count(*)::int as submitted,
        count(*) filter (where status = 'accepted')::int as accepted,
        count(*) filter (where status = any(${SETTLED_STATUSES as string[]}::text[]))::int as decided
      from contributions where datanet_id = ${datanetId} group by contributor) c,
      lateral (select case when c.decided > 0 then c.accepted::float8 / c.decided else 0 end as rate) r
    where ${contributor}::text is null
      or (-r.rate, -c.accepted, c.contributor collate "C") > (-${rate}::float8, -${accepted}::int, ${contributor}::text collate "C")
    order by r.rate desc, c.accepted desc, c.contributor collate "C" limit ${page.limit}`;
}
