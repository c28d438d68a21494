import type postgres from 'postgres';
import { accountsOf } from '../../contracts/accounts.js';
import { postTransfers } from '../ledger.js';
import { depositKeys } from './curation.js';
import { insertRecordKeys } from './private-records.js';

/** Contributed records (one row per Datanet and content hash; the payload is in S3). */

export interface Contribution {
  datanetId: string;
  hash: string;
  contributor: string;
  size: number;
  status: string;
  quality: number | null;
  relevance: number | null;
  reasons: string[] | null;
  duplicateOf: string | null;
  createdAt: Date;
}

export interface NewContribution {
  hash: string;
  size: number;
  /** The pack object holding the record (storage/packs.ts). */
  s3Key: string;
  packOffset: number;
  packLength: number;
  label: string;
  /** An encrypted Datanet's record: its data key sealed to the Datanet (stored with the row, in its transaction). */
  sealedKey?: Buffer;
}

/** Who contributed each of `hashes` that a Datanet already holds: hash -> contributor. */
export async function findContributors(
  sql: postgres.Sql,
  datanetId: string,
  hashes: string[],
): Promise<Map<string, string>> {
  const rows = await sql<{ hash: string; contributor: string }[]>`
    select hash, contributor from contributions where datanet_id = ${datanetId} and hash = any(${hashes}::text[])`;
  return new Map(rows.map((r) => [r.hash, r.contributor]));
}

/**
 * Inserts a contributor's records only while the Datanet is open and its lifecycle running, checked
 * under a share lock on its row: closing or cancelling (an update of that row) waits for inserts in
 * flight, and later ones see it closed, so every record acknowledged 201 is inside the range the
 * window scores and its deposit is seen by the settlement that follows the ending. Returns the
 * hashes this call inserted (an identical record already stored is not among them), or the
 * Datanet's status when it is not open.
 */
export async function insertContributionsWhileOpen(
  sql: postgres.Sql,
  datanetId: string,
  contributor: string,
  signature: string,
  items: NewContribution[],
  /** Per-record submission deposit (OPEN base units), moved in the same transaction as the rows. */
  deposit: { perRecord: bigint; proposalId: string } | undefined,
  /**
   * Writes what the new rows point to (the pack), once the window and the deposits are settled and
   * before they commit: a refused batch leaves no object behind, and a failed write no row.
   */
  beforeCommit: () => Promise<void>,
): Promise<{ inserted: Set<string> } | { closed: string }> {
  return sql.begin(async (tx) => {
    // Its lifecycle's ending settles every deposit the Datanet holds, once: a record let in after
    // the ending (an open row its compensation did not see) would hold a deposit nothing settles.
    const [d] = await tx<{ status: string; lifecycle: string | null }[]>`
      select d.status, p.status as lifecycle from datanets d left join proposals p on p.id = d.proposal_id
      where d.id = ${datanetId} for share of d`;
    if (!d || d.status !== 'open') return { closed: d?.status ?? 'gone' };
    if (d.lifecycle !== 'running') return { closed: `closed (its lifecycle is ${d.lifecycle ?? 'gone'})` };
    const rows = await tx<{ hash: string }[]>`
      insert into contributions (datanet_id, hash, contributor, signature, size, s3_key, pack_offset, pack_length, label)
      select ${datanetId}, * from unnest(${items.map((t) => t.hash)}::text[], ${items.map(() => contributor)}::text[], ${items.map(() => signature)}::text[],
        ${items.map((t) => t.size)}::int[], ${items.map((t) => t.s3Key)}::text[], ${items.map((t) => t.packOffset)}::bigint[],
        ${items.map((t) => t.packLength)}::int[], ${items.map((t) => t.label)}::text[])
      on conflict (datanet_id, hash) do nothing returning hash`;
    // Only rows this call inserted deposit, each under its own key: a retried or repeated
    // submission of the same record moves nothing, and a short balance fails the whole insert.
    if (deposit && deposit.perRecord > 0n && rows.length)
      await postTransfers(
        tx,
        rows.map((r) => ({
          idempotencyKey: depositKeys.deposit(datanetId, r.hash),
          asset: 'OPEN' as const,
          from: contributor,
          to: accountsOf.datanetDeposits(datanetId),
          amount: deposit.perRecord.toString(),
          reason: 'submission deposit',
          proposalId: deposit.proposalId,
          memo: { datanetId, hash: r.hash },
        })),
      );
    const inserted = new Set(rows.map((r) => r.hash));
    await insertRecordKeys(
      tx,
      datanetId,
      items.flatMap((t) => (t.sealedKey && inserted.has(t.hash) ? [{ hash: t.hash, sealedKey: t.sealedKey }] : [])),
    );
    if (rows.length) await beforeCommit();
    return { inserted };
  });
}

/** Every contribution with this content hash (one per Datanet that holds it). */
export async function findContributionsByHash(sql: postgres.Sql, hash: string): Promise<Contribution[]> {
  const rows = await sql<
    {
      datanet_id: string;
      hash: string;
      contributor: string;
      size: number;
      status: string;
      quality: number | null;
      relevance: number | null;
      reasons: string[] | null;
      duplicate_of: string | null;
      created_at: Date;
    }[]
  >`select datanet_id, hash, contributor, size, status, quality, relevance, reasons, duplicate_of, created_at from contributions where hash = ${hash}`;
  return rows.map((r) => ({
    datanetId: r.datanet_id,
    hash: r.hash,
    contributor: r.contributor,
    size: r.size,
    status: r.status,
    quality: r.quality,
    relevance: r.relevance,
    reasons: r.reasons,
    duplicateOf: r.duplicate_of,
    createdAt: r.created_at,
  }));
}

/** Counts of a Datanet's contributions by scoring status. */
export async function countContributionsByStatus(
  sql: postgres.Sql,
  datanetId: string,
): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from contributions where datanet_id = ${datanetId} group by status`;
  return Object.fromEntries(rows.map((c) => [c.status, c.n]));
}

/**
 * A contribution's status ('erased' once its contributor erased it: no later version holds it) with the newest
 * dataset version of its Datanet (null when none is built).
 */
export async function findContributionForProof(
  sql: postgres.Sql,
  hash: string,
): Promise<
  { datanetId: string; status: string; datasetVersionId: string | null; merkleRoot: string | null } | undefined
> {
  const [c] = await sql<
    { datanet_id: string; status: string; version_id: string | null; merkle_root: string | null }[]
  >`
    select c.datanet_id,
      case when exists (select 1 from record_erasures e where e.datanet_id = c.datanet_id and e.hash = c.hash)
        then 'erased' else c.status end as status,
      v.id as version_id, v.merkle_root from contributions c
    left join dataset_versions v on v.datanet_id = c.datanet_id where c.hash = ${hash} order by v.version desc nulls last, v.created_at desc nulls last limit 1`;
  return c && { datanetId: c.datanet_id, status: c.status, datasetVersionId: c.version_id, merkleRoot: c.merkle_root };
}

/** The content hashes of a Datanet's accepted records not erased (the leaves of its latest dataset's Merkle tree). */
export async function listAcceptedHashes(sql: postgres.Sql, datanetId: string): Promise<string[]> {
  const rows = await sql<{ hash: string }[]>`
    select hash from contributions c where datanet_id = ${datanetId} and status = 'accepted'
      and not exists (select 1 from record_erasures e where e.datanet_id = c.datanet_id and e.hash = c.hash)`;
  return rows.map((r) => r.hash);
}

/** Where each stored copy of a record is (one per Datanet that holds it), for reading its bytes. */
/** Every stored copy of a record (one per Datanet that holds it), with who sent it and its status. */
export async function findRecordRefs(
  sql: postgres.Sql,
  hash: string,
): Promise<
  {
    datanetId: string;
    contributor: string;
    status: string;
    hash: string;
    key: string;
    offset: number;
    length: number;
  }[]
> {
  const rows = await sql<
    {
      datanet_id: string;
      contributor: string;
      status: string;
      s3_key: string;
      pack_offset: string;
      pack_length: number;
    }[]
  >`select datanet_id, contributor, status, s3_key, pack_offset, pack_length from contributions where hash = ${hash} order by created_at`;
  return rows.map((r) => ({
    datanetId: r.datanet_id,
    contributor: r.contributor,
    status: r.status,
    hash,
    key: r.s3_key,
    offset: Number(r.pack_offset),
    length: r.pack_length,
  }));
}

type Sql = postgres.Sql | postgres.TransactionSql;

/**
 * Records that one batch of a scoring or dedupe pass decided (datanet_batch_progress), written in the
 * batch's transaction; a retried batch writes the same counts again.
 */
export async function recordBatchProgress(
  tx: Sql,
  datanetId: string,
  pass: 'score' | 'dedupe',
  fromSeq: number,
  counts: { records: number; passed: number },
): Promise<void> {
  await tx`
    insert into datanet_batch_progress (datanet_id, pass, from_seq, records, passed)
    values (${datanetId}, ${pass}, ${fromSeq}, ${counts.records}, ${counts.passed})
    on conflict (datanet_id, pass, from_seq) do update set records = excluded.records, passed = excluded.passed`;
}

export interface PassProgress {
  /** Records in the window when it closed. */
  received: number;
  /** Records scored, and of those passing ('scored' or later). */
  scored: number;
  scoredPassing: number;
  /** Passing records the dedupe pass decided, and of those accepted. */
  deduped: number;
  dedupeAccepted: number;
}

/**
 * A closed Datanet's pass progress from datanet_batch_progress (a few hundred rows at 1M records),
 * or undefined when its window was closed by workers that did not record it.
 */
export async function findPassProgress(sql: Sql, datanetId: string): Promise<PassProgress | undefined> {
  const [r] = await sql<
    { received: number | null; scored: number; scored_passing: number; deduped: number; dedupe_accepted: number }[]
  >`
    select d.received,
      coalesce(sum(b.records) filter (where b.pass = 'score'), 0)::int as scored,
      coalesce(sum(b.passed) filter (where b.pass = 'score'), 0)::int as scored_passing,
      coalesce(sum(b.records) filter (where b.pass = 'dedupe'), 0)::int as deduped,
      coalesce(sum(b.passed) filter (where b.pass = 'dedupe'), 0)::int as dedupe_accepted
    from datanets d left join datanet_batch_progress b on b.datanet_id = d.id
    where d.id = ${datanetId} group by d.received`;
  if (!r || r.received === null) return undefined;
  return {
    received: r.received,
    scored: r.scored,
    scoredPassing: r.scored_passing,
    deduped: r.deduped,
    dedupeAccepted: r.dedupe_accepted,
  };
}
