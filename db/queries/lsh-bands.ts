import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import { parseBigintArray, reduceBandClaims as reduceClaims } from '../../domain/data/band-claims.js';

/**
 * The lsh_bands table: for each (Datanet, band key), the lowest seq of a record that passed scoring
 * with that band. The scoring pass claims bands batch by batch; the dedupe pass reads owners back.
 */

type Sql = postgres.Sql | postgres.TransactionSql;

/**
 * The Datanet's integer key in lsh_bands: the first 64 bits of SHA-256 of its id (signed, as
 * Postgres stores a bigint). Eight bytes instead of the id's text in every row and index entry;
 * two Datanets colliding would take 2^32 Datanets to be likely.
 */
export function lshDatanetKey(datanetId: string): string {
  const h = createHash('sha256').update(datanetId, 'utf8').digest();
  return h.readBigInt64BE(0).toString();
}

/**
 * Claims a batch's bands (band -> lowest seq in the batch) in one statement. A band already claimed
 * by another batch keeps the lower seq and is marked shared; a retried batch claiming its own bands
 * again (same seq) changes nothing, so a retry neither moves owners nor marks bands shared.
 */
export async function claimBands(tx: Sql, datanetId: string, owners: Map<number, number>): Promise<void> {
  if (owners.size === 0) return;
  // In band order, so parallel batches claiming shared bands lock rows in the same order.
  const bands = [...owners.entries()].sort((a, b) => a[0] - b[0]);
  await tx`
    insert into lsh_bands (datanet_key, band, seq)
    select ${lshDatanetKey(datanetId)}::bigint, * from unnest(${bands.map(([b]) => b)}::bigint[], ${bands.map(([, s]) => s)}::bigint[])
    on conflict (datanet_key, band) do update set seq = least(lsh_bands.seq, excluded.seq), shared = true
      where lsh_bands.seq <> excluded.seq`;
}

/** A bigint[] literal as text: postgres.js would otherwise guess the element type of a JS number array. */
const bigintArrayLiteral = (xs: readonly number[]) => `{${xs.join(',')}}`;

/** Keys per look-up: a few thousand keep the plan on the partial index at any table size. */
const LOOKUP_CHUNK = 4096;

/**
 * Owners of those of `bands` that more than one scoring batch claimed (band -> owner's seq). A band
 * claimed by one batch only is owned by that batch's lowest seq, which the caller knows already.
 */
export async function sharedBandOwners(
  sql: Sql,
  datanetId: string,
  bands: readonly number[],
): Promise<Map<number, number>> {
  const key = lshDatanetKey(datanetId);
  const owners = new Map<number, number>();
  for (let i = 0; i < bands.length; i += LOOKUP_CHUNK) {
    for (const o of await sql<{ band: string; seq: string }[]>`
      select band, seq from lsh_bands
      where datanet_key = ${key}::bigint and shared and band = any(${bands.slice(i, i + LOOKUP_CHUNK)}::bigint[])`)
      owners.set(Number(o.band), Number(o.seq));
  }
  return owners;
}

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
 * another batch claimed too, with that record's seq (lsh_band_owners, read by `earlierBandOwners`):
 * the owners per-band claims into lsh_bands gave, without a band index.
 *
 * A Datanet whose scoring pass straddled an upgrade has direct claims in lsh_bands from workers that
 * predate staging (`legacy`): its staged claims are merged into lsh_bands as claimBands would have
 * made them, and its dedupe pass reads owners there (`sharedBandOwners`).
 *
 * Every scoring batch must have finished first. Safe to call from parallel dedupe batches: each starts
 * at `startPart` and skips partitions another is reducing, then waits for those at the end.
 */
export async function reduceBandClaims(
  sql: postgres.Sql,
  datanetId: string,
  opts: { startPart?: number; onPart?: (reduced: number) => void } = {},
): Promise<{ legacy: boolean }> {
  const key = lshDatanetKey(datanetId);
  // Direct claims in lsh_bands before any reduction can only come from workers that predate staging.
  // One statement, so one snapshot: a reduction committed by a parallel caller shows as a reduction.
  const [state] = await sql<{ legacy: boolean; parts: number[] }[]>`
    select exists (select 1 from lsh_band_reductions where datanet_key = ${key}::bigint and legacy)
      or (not exists (select 1 from lsh_band_reductions where datanet_key = ${key}::bigint)
          and exists (select 1 from lsh_bands where datanet_key = ${key}::bigint)) as legacy,
      array(select part from lsh_band_reductions where datanet_key = ${key}::bigint)::int[] as parts`;
  const legacy = state?.legacy === true;
  const done = new Set(state?.parts ?? []);
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
        const [r] = legacy ? await mergeIntoLshBands(tx, key, part) : await recordOwners(tx, key, part);
        await tx`delete from lsh_band_claims where datanet_key = ${key}::bigint and part = ${part}`;
        await tx`
          insert into lsh_band_reductions (datanet_key, part, shared, legacy)
          values (${key}::bigint, ${part}, ${r?.n ?? 0}, ${legacy})`;
        return true;
      });
      if (reduced) opts.onPart?.(part);
      else busy.push(part);
    }
    pending = busy;
  }
  return { legacy };
}

/**
 * One partition: each batch's bands whose lowest seq overall is another batch's, to lsh_band_owners.
 * Reduced in this process, not in SQL: the partition's claims (~440k at 1M records) come back as two
 * arrays per batch, reduced in typed arrays (domain/data/band-claims.ts). Postgres unnesting,
 * hash-aggregating and re-joining them cost ~55 CPU s per 1M records; reading
 * the arrays out and writing the (few) owners back is a small part of that.
 */
async function recordOwners(tx: Sql, key: string, part: number): Promise<{ n: number }[]> {
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
  return [{ n: reduced.shared }];
}

/**
 * One partition of a Datanet with direct claims: bands staged by more than one batch, or already in
 * lsh_bands, are merged there as claimBands would (lowest seq; shared once two batches claimed it).
 */
function mergeIntoLshBands(tx: Sql, key: string, part: number) {
  return tx<{ n: number }[]>`
    with s as (
      select u.band, min(u.seq) as seq, count(*) as n
      from lsh_band_claims c, unnest(c.bands, c.seqs) as u(band, seq)
      where c.datanet_key = ${key}::bigint and c.part = ${part}
      group by u.band),
    ins as (
      insert into lsh_bands (datanet_key, band, seq, shared)
      select ${key}::bigint, s.band, s.seq, s.n > 1 from s
      where s.n > 1 or exists (select 1 from lsh_bands l where l.datanet_key = ${key}::bigint and l.band = s.band)
      on conflict (datanet_key, band) do update set seq = least(lsh_bands.seq, excluded.seq),
        shared = lsh_bands.shared or excluded.shared or lsh_bands.seq <> excluded.seq
      returning shared)
    select count(*) filter (where shared)::int as n from ins`;
}

/**
 * After `reduceBandClaims` (staged Datanets): the bands of the batch starting at `fromSeq` that an
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
