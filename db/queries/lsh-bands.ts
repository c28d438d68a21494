import { createHash } from 'node:crypto';
import type postgres from 'postgres';

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
 * exactly one copy. `reduceBandClaims` later merges them into lsh_bands.
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
  // Array literals as text: postgres.js would otherwise guess the element type of a JS number array.
  const lit = (xs: number[]) => `{${xs.join(',')}}`;
  await tx`
    insert into lsh_band_claims (datanet_key, part, from_seq, bands, seqs)
    select ${lshDatanetKey(datanetId)}::bigint, u.part, ${fromSeq}::bigint, u.bands::bigint[], u.seqs::bigint[]
    from unnest(${parts}::int[], ${parts.map((p) => lit(bands[p]!))}::text[], ${parts.map((p) => lit(seqs[p]!))}::text[]) as u(part, bands, seqs)
    on conflict (datanet_key, part, from_seq) do nothing`;
}

/**
 * Merges a Datanet's staged band claims into lsh_bands, partition by partition, each exactly once
 * (an advisory lock per partition and a row in lsh_band_reductions, written in the same transaction
 * as the merge; the partition's staged rows are deleted there too). A band staged by more than one
 * batch becomes a shared row owned by its lowest seq, as per-band claims made it; a band staged by one
 * batch only is left out unless lsh_bands already has it (claimed directly by a worker that predates
 * staging, in a pass that straddled an upgrade), in which case the two merge as claimBands would.
 * Every scoring batch must have finished first. Safe to call from parallel dedupe batches: each starts
 * at `startPart` and skips partitions another is reducing, then waits for those at the end.
 */
export async function reduceBandClaims(
  sql: postgres.Sql,
  datanetId: string,
  opts: { startPart?: number; onPart?: (reduced: number) => void } = {},
): Promise<void> {
  const key = lshDatanetKey(datanetId);
  const done = new Set(
    (await sql<{ part: number }[]>`select part from lsh_band_reductions where datanet_key = ${key}::bigint`).map(
      (r) => r.part,
    ),
  );
  if (done.size === BAND_PARTS) return;
  // Direct claims in lsh_bands before any reduction came from workers that predate staging: only then
  // must a band staged by one batch be checked against lsh_bands. One statement, so one snapshot: a
  // reduction committed by a parallel caller shows as a reduction, never as direct claims.
  const [l] = await sql<{ legacy: boolean }[]>`
    select exists (select 1 from lsh_band_reductions where datanet_key = ${key}::bigint and legacy)
      or (not exists (select 1 from lsh_band_reductions where datanet_key = ${key}::bigint)
          and exists (select 1 from lsh_bands where datanet_key = ${key}::bigint)) as legacy`;
  const legacy = l?.legacy === true;
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
        // The partition's groups (a few hundred thousand bands at 1M records) hash in memory.
        await tx`set local work_mem = '64MB'`;
        const [r] = await tx<{ n: number }[]>`
          with s as (
            select u.band, min(u.seq) as seq, count(*) as n
            from lsh_band_claims c, unnest(c.bands, c.seqs) as u(band, seq)
            where c.datanet_key = ${key}::bigint and c.part = ${part}
            group by u.band),
          ins as (
            insert into lsh_bands (datanet_key, band, seq, shared)
            select ${key}::bigint, s.band, s.seq, s.n > 1 from s
            where s.n > 1 or (${legacy}::boolean and exists (select 1 from lsh_bands l where l.datanet_key = ${key}::bigint and l.band = s.band))
            on conflict (datanet_key, band) do update set seq = least(lsh_bands.seq, excluded.seq),
              shared = lsh_bands.shared or excluded.shared or lsh_bands.seq <> excluded.seq
            returning 1)
          select count(*)::int as n from ins`;
        await tx`delete from lsh_band_claims where datanet_key = ${key}::bigint and part = ${part}`;
        await tx`insert into lsh_band_reductions (datanet_key, part, shared, legacy) values (${key}::bigint, ${part}, ${r?.n ?? 0}, ${legacy})`;
        return true;
      });
      if (reduced) opts.onPart?.(part);
      else busy.push(part);
    }
    pending = busy;
  }
}

/** The advisory lock of one partition's reduction: the Datanet key with the partition in its low bits. */
function hashLockKey(datanetKey: string, part: number): string {
  return ((BigInt(datanetKey) & ~BigInt(0xff)) | BigInt(part)).toString();
}
