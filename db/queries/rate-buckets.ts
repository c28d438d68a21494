import type postgres from 'postgres';

/** Token buckets for rate limits (one row per key), refilled by the time elapsed. */

export interface BucketRule {
  ratePerSec: number;
  burst: number;
}

/** Tokens in bucket `b` now: what was left plus the refill since, capped at the burst. */
const available = (sql: postgres.Sql, r: BucketRule) =>
  sql`least(${r.burst}::float8, b.tokens + extract(epoch from now() - b.updated_at) * ${r.ratePerSec}::float8)`;

/**
 * One statement: the upsert locks the bucket's row, refills it and takes `n` tokens only if enough
 * are there. True when they were taken.
 */
export async function takeTokens(sql: postgres.Sql, key: string, n: number, r: BucketRule): Promise<boolean> {
  const taken = await sql`
    insert into rate_buckets as b (key, tokens, updated_at) values (${key}, ${r.burst - n}::float8, now())
    on conflict (key) do update set tokens = ${available(sql, r)} - ${n}::float8, updated_at = now() where ${available(sql, r)} >= ${n}::float8
    returning tokens`;
  return taken.length === 1;
}

/** Tokens available in the bucket now, or undefined when it has none yet. */
export async function availableTokens(sql: postgres.Sql, key: string, r: BucketRule): Promise<number | undefined> {
  const [b] = await sql<{ available: number }[]>`
    select ${available(sql, r)} as available from rate_buckets b where key = ${key}`;
  return b === undefined ? undefined : Number(b.available);
}
