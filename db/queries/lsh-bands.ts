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
