import type postgres from 'postgres';

/**
 * Token bucket per key (contributor address): `ratePerSec` sustained, `burst` at once, kept in
 * Postgres so every API instance draws from the same bucket (an in-memory bucket per instance
 * would let N instances admit N× the limit). One statement per check: the upsert locks the
 * bucket's row, refills it by the time elapsed and takes the tokens only if enough are there.
 */
export class RateLimiter {
  constructor(
    private readonly sql: postgres.Sql,
    readonly ratePerSec: number,
    readonly burst: number,
  ) {
    if (!(ratePerSec > 0) || !(burst >= 1))
      throw new Error(
        `rate limit needs a positive rate and a burst of at least 1 (got ${ratePerSec}/s, burst ${burst})`,
      );
  }

  /** Takes `n` tokens; returns 0 when allowed, else the whole seconds to wait before retrying. */
  async take(key: string, n = 1): Promise<number> {
    // A request larger than the burst can never pass; the caller says so instead of asking to wait.
    if (n > this.burst) return Infinity;
    // Tokens in bucket `b` now: what was left plus the refill since, capped at the burst.
    const available = this
      .sql`least(${this.burst}::float8, b.tokens + extract(epoch from now() - b.updated_at) * ${this.ratePerSec}::float8)`;
    const taken = await this.sql`
      insert into rate_buckets as b (key, tokens, updated_at) values (${key}, ${this.burst - n}::float8, now())
      on conflict (key) do update set tokens = ${available} - ${n}::float8, updated_at = now() where ${available} >= ${n}::float8
      returning tokens`;
    if (taken.length === 1) return 0;
    const [b] = await this.sql`select ${available} as available from rate_buckets b where key = ${key}`;
    return Math.max(1, Math.ceil((n - Number(b?.available ?? this.burst)) / this.ratePerSec));
  }
}
