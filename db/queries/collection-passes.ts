import type postgres from 'postgres';
import type { DatanetSpec } from '../../domain/data/datanet-spec.js';
import { recordBatchProgress } from './contributions.js';
import { stageBandClaims } from './lsh-bands.js';

/**
 * The collection round's writes: its window (open, count, close) and the two passes over the
 * contributions (scores, then duplicate verdicts). Each pass writes a batch in one transaction with
 * its progress row, so a retried batch rewrites the same rows.
 */

export async function insertOpenDatanet(
  sql: postgres.Sql,
  a: { datanetId: string; proposalId: string; spec: DatanetSpec; targetCount: number; closesAt: number },
): Promise<void> {
  await sql`
    insert into datanets (id, proposal_id, spec, status, target_count, closes_at)
    values (${a.datanetId}, ${a.proposalId}, ${sql.json(a.spec)}, 'open', ${a.targetCount}, ${new Date(a.closesAt).toISOString()})
    on conflict (id) do nothing`;
}

export async function countDatanetContributions(sql: postgres.Sql, datanetId: string): Promise<number> {
  const [r] = await sql<{ n: number }[]>`select count(*)::int as n from contributions where datanet_id = ${datanetId}`;
  if (!r) throw new Error('count(*) returned no row');
  return r.n;
}

/**
 * Closes the window (the API refuses contributions from then on) and stores its total for status
 * reads (findPassProgress); a retry finds the same closed window and the same range.
 */
export async function closeDatanetWindow(
  sql: postgres.Sql,
  datanetId: string,
): Promise<{ minSeq: number; maxSeq: number; count: number }> {
  await sql`update datanets set status = 'closed' where id = ${datanetId} and status = 'open'`;
  const [r] = await sql<
    { min: string; max: string; n: number }[]
  >`select coalesce(min(seq), 1)::bigint as min, coalesce(max(seq), 0)::bigint as max, count(*)::int as n from contributions where datanet_id = ${datanetId}`;
  if (!r) throw new Error('an aggregate query returned no row');
  await sql`update datanets set received = ${r.n} where id = ${datanetId}`;
  return { minSeq: Number(r.min), maxSeq: Number(r.max), count: r.n };
}

export interface SeqRangeRow {
  hash: string;
  contributor: string;
  s3_key: string;
  pack_offset: string;
  pack_length: number;
  seq: string;
}

/** A scoring batch's contributions, in seq order (neighbours in contributions_seq_idx). */
export async function contributionsInSeqRange(
  sql: postgres.Sql,
  datanetId: string,
  fromSeq: number,
  toSeq: number,
): Promise<SeqRangeRow[]> {
  return sql<
    SeqRangeRow[]
  >`select hash, contributor, s3_key, pack_offset, pack_length, seq from contributions where datanet_id = ${datanetId} and seq between ${fromSeq} and ${toSeq} order by seq`;
}

export interface ScoreRow {
  seq: number;
  hash: string;
  status: 'scored' | 'rejected';
  quality: number;
  relevance: number;
  /** JSON text of the reasons array. */
  reasons: string;
  /** Hex of the MinHash sketch; '' for a rejected record. */
  sketchHex: string;
  label: string;
}

/**
 * Pass 1's batch: scores and sketches, the batch's band claims and its progress row, in one
 * transaction. Rows are found by seq; no indexed column changes, so with the table's fillfactor
 * (set in the baseline migration) the update is HOT and writes no index entries.
 */
export async function writeScoreBatch(
  sql: postgres.Sql,
  datanetId: string,
  fromSeq: number,
  rows: ScoreRow[],
  bandOwners: Map<number, number>,
  progress: { records: number; passed: number },
): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      update contributions c set status = u.status, quality = u.quality, relevance = u.relevance, reasons = u.reasons::jsonb, sketch = decode(nullif(u.sketch, ''), 'hex'), label = nullif(u.label, '')
      from (select unnest(${rows.map((r) => r.seq)}::bigint[]) as seq,
                   unnest(${rows.map((r) => r.hash)}::text[]) as hash,
                   unnest(${rows.map((r) => r.status)}::text[]) as status,
                   unnest(${rows.map((r) => r.quality)}::float8[]) as quality,
                   unnest(${rows.map((r) => r.relevance)}::float8[]) as relevance,
                   unnest(${rows.map((r) => r.reasons)}::text[]) as reasons,
                   unnest(${rows.map((r) => r.sketchHex)}::text[]) as sketch,
                   unnest(${rows.map((r) => r.label)}::text[]) as label) u
      where c.datanet_id = ${datanetId} and c.seq = u.seq and c.hash = u.hash`;
    await stageBandClaims(tx, datanetId, fromSeq, bandOwners);
    await recordBatchProgress(tx, datanetId, 'score', fromSeq, progress);
  });
}

/** Sketches of earlier batches' records, by seq (the owners a dedupe batch compares against). */
export async function sketchesBySeq(
  sql: postgres.Sql,
  datanetId: string,
  seqs: number[],
): Promise<{ seq: string; hash: string; sketch: Buffer }[]> {
  return sql<
    { seq: string; hash: string; sketch: Buffer }[]
  >`select seq, hash, sketch from contributions where datanet_id = ${datanetId} and seq = any(${seqs}::bigint[])`;
}

export interface DedupeVerdict {
  seq: number;
  hash: string;
  status: 'accepted' | 'duplicate' | 'near-duplicate';
  /** The earlier record it duplicates; null when accepted. */
  of: string | null;
  /** Appended to the record's reasons; '' adds none. */
  reason: string;
}

/** Pass 2's batch: verdicts on records still 'scored' and the batch's progress row, in one transaction. */
export async function writeDedupeBatch(
  sql: postgres.Sql,
  datanetId: string,
  fromSeq: number,
  verdicts: DedupeVerdict[],
  accepted: number,
): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      update contributions c set status = u.status, duplicate_of = nullif(u.of, ''),
        reasons = case when u.reason = '' then c.reasons else coalesce(c.reasons, '[]'::jsonb) || to_jsonb(u.reason) end
      from (select unnest(${verdicts.map((v) => v.seq)}::bigint[]) as seq, unnest(${verdicts.map((v) => v.hash)}::text[]) as hash, unnest(${verdicts.map((v) => v.status)}::text[]) as status,
                   unnest(${verdicts.map((v) => v.of ?? '')}::text[]) as of, unnest(${verdicts.map((v) => v.reason)}::text[]) as reason) u
      where c.datanet_id = ${datanetId} and c.seq = u.seq and c.hash = u.hash and c.status = 'scored'`;
    await recordBatchProgress(tx, datanetId, 'dedupe', fromSeq, { records: verdicts.length, passed: accepted });
  });
}
