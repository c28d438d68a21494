import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import { parseBigintArray, reduceBandClaims as reduceClaims } from '../../domain/data/band-claims.js';

/**
 * LSH band ownership: the scoring pass stages each batch's band claims (lsh_band_claims), each
 * partition is reduced once (lsh_band_reductions), and the dedupe pass reads the earlier owners of
 * its batch's bands back (lsh_band_owners).
 */

type Sql = postgres.Sql | postgres.TransactionSql;

/**
 * The Datanet's integer key in the band tables: the first 64 bits of SHA-256 of its id (signed, as
 * Postgres stores a bigint). Eight bytes instead of the id's text in every row and index entry;
 * two Datanets colliding would take 2^32 Datanets to be likely.
 */
export function lshDatanetKey(datanetId: string): string {
  const h = createHash('sha256').update(datanetId, 'utf8').digest();
  return h.readBigInt64BE(0).toString();
}

/** A bigint[] literal as text: postgres.js would otherwise guess the element type of a JS number array. */
const bigintArrayLiteral = (xs: readonly number[]) => `{${xs.join(',')}}`;

/**
 * Partitions of the staged band claims (by band mod BAND_PARTS): each is reduced on its own, so the
 * reduction's working set stays small at any Datanet size and parallel dedupe batches share the work.
 */
export const BAND_PARTS = 64;
const partOf = (band: number) => band % BAND_PARTS;

/**
 * Stages a scoring batch's band claims (band -> lowest seq in the batch) as one row per partition:
 * an append, not one upsert per band. A retried batch stages the same claims, so `do nothing` keeps
 * exactly one copy. `reduceBandClaims` reduces them once every batch is in.
 */
export async function stageBandClaims(
  tx: Sql,
  datanetId: string,
  fromSeq: number,
  owners: Map<number, number>,
): Promise<void> {
  if (owners.size === 0) return;
  const bands: number[][] = Array.from({ length: BAND_PARTS }, () => []);
  const seqs: number[][] = Array.from({ length: BAND_PARTS }, () => []);
  for (const [band, seq] of owners) {
    bands[partOf(band)]!.push(band);
    seqs[partOf(band)]!.push(seq);
  }
  const parts = bands.flatMap((b, p) => (b.length > 0 ? [p] : []));
  await tx`
    insert into lsh_band_claims (datanet_key, part, from_seq, bands, seqs)
    select ${lshDatanetKey(datanetId)}::bigint, u.part, ${fromSeq}::bigint, u.bands::bigint[], u.seqs::bigint[]
    from unnest(${parts}::int[], ${parts.map((p) => bigintArrayLiteral(bands[p]!))}::text[], ${parts.map((p) => bigintArrayLiteral(seqs[p]!))}::text[]) as u(part, bands, seqs)
    on conflict (datanet_key, part, from_seq) do nothing`;
}

/**
 * Reduces a Datanet's staged band claims, partition by partition, each exactly once (an advisory lock
 * per partition and a row in lsh_band_reductions, written in the same transaction; the partition's
 * staged rows are deleted there too). For each batch it records the bands an earlier record in
 * another batch claimed too, with that record's seq (lsh_band_owners, read by `earlierBandOwners`).
 *
 * Every scoring batch must have finished first. Safe to call from parallel dedupe batches: each starts
 * at `startPart` and skips partitions another is reducing, then waits for those at the end.
 */
export async function reduceBandClaims(
  sql: postgres.Sql,
  datanetId: string,
  opts: { startPart?: number; onPart?: (reduced: number) => void } = {},
): Promise<void> {
  const key = lshDatanetKey(datanetId);
  const reducedParts = await sql<{ part: number }[]>`
    select part from lsh_band_reductions where datanet_key = ${key}::bigint`;
  const done = new Set(reducedParts.map((r) => r.part));
  const start = (((opts.startPart ?? 0) % BAND_PARTS) + BAND_PARTS) % BAND_PARTS;
  let pending = Array.from({ length: BAND_PARTS }, (_, i) => (start + i) % BAND_PARTS).filter((p) => !done.has(p));
  for (const wait of [false, true]) {
    const busy: number[] = [];
    for (const part of pending) {
      const reduced = await sql.begin(async (tx) => {
        const lock = hashLockKey(key, part);
        if (wait) await tx`select pg_advisory_xact_lock(${lock}::bigint)`;
        else {
          const [got] = await tx<{ ok: boolean }[]>`select pg_try_advisory_xact_lock(${lock}::bigint) as ok`;
          if (!got?.ok) return false;
        }
        const [seen] =
          await tx`select 1 from lsh_band_reductions where datanet_key = ${key}::bigint and part = ${part}`;
        if (seen) return true;
        // The partition's claims (~440k at 1M records) hash in memory.
        await tx`set local work_mem = '64MB'`;
        const shared = await recordOwners(tx, key, part);
        await tx`delete from lsh_band_claims where datanet_key = ${key}::bigint and part = ${part}`;
        await tx`
          insert into lsh_band_reductions (datanet_key, part, shared)
          values (${key}::bigint, ${part}, ${shared})`;
        return true;
      });
      if (reduced) opts.onPart?.(part);
      else busy.push(part);
    }
    pending = busy;
  }
}

/**
 * One partition: each batch's bands whose lowest seq overall is another batch's, to lsh_band_owners.
 * Reduced in this process, not in SQL: the partition's claims (~440k at 1M records) come back as two
 * arrays per batch, reduced in typed arrays (domain/data/band-claims.ts). Postgres unnesting,
 * hash-aggregating and re-joining them cost ~55 CPU s per 1M records; reading
 * the arrays out and writing the (few) owners back is a small part of that.
 */
async function recordOwners(tx: Sql, key: string, part: number): Promise<number> {
  const rows = await tx<{ from_seq: string; bands: string; seqs: string }[]>`
    select from_seq::text, bands::text, seqs::text from lsh_band_claims
    where datanet_key = ${key}::bigint and part = ${part}`;
  // Bands are below 2^53 and seqs are bigserials: both exact as numbers.
  const claims = rows.map((r) => ({ bands: parseBigintArray(r.bands), seqs: parseBigintArray(r.seqs) }));
  const reduced = reduceClaims(claims);
  const out = rows.flatMap((r, i) => {
    const o = reduced.owners[i]!; // one entry per batch, in order
    return o.bands.length > 0 ? [{ fromSeq: r.from_seq, ...o }] : [];
  });
  for (let i = 0; i < out.length; i += 256) {
    const chunk = out.slice(i, i + 256);
    await tx`
      insert into lsh_band_owners (datanet_key, from_seq, part, bands, owners)
      select ${key}::bigint, u.from_seq, ${part}, u.bands::bigint[], u.owners::bigint[]
      from unnest(${chunk.map((o) => o.fromSeq)}::bigint[], ${chunk.map((o) => bigintArrayLiteral(o.bands))}::text[],
                  ${chunk.map((o) => bigintArrayLiteral(o.owners))}::text[]) as u(from_seq, bands, owners)`;
  }
  return reduced.shared;
}

/**
 * After `reduceBandClaims`: the bands of the batch starting at `fromSeq` that an
 * earlier record in another batch claimed too, each with that record's seq.
 */
export async function earlierBandOwners(sql: Sql, datanetId: string, fromSeq: number): Promise<Map<number, number>> {
  const owners = new Map<number, number>();
  for (const r of await sql<{ bands: string[]; owners: string[] }[]>`
    select bands::text[], owners::text[] from lsh_band_owners
    where datanet_key = ${lshDatanetKey(datanetId)}::bigint and from_seq = ${fromSeq}`)
    r.bands.forEach((b, i) => owners.set(Number(b), Number(r.owners[i])));
  return owners;
}

/** The advisory lock of one partition's reduction: the Datanet key with the partition in its low bits. */
function hashLockKey(datanetKey: string, part: number): string {
  return ((BigInt(datanetKey) & ~BigInt(0xff)) | BigInt(part)).toString();
}
