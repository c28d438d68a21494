import type postgres from 'postgres';
import { availableTokens, takeTokens } from '../db/queries/rate-buckets.js';

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
    const rule = { ratePerSec: this.ratePerSec, burst: this.burst };
    if (await takeTokens(this.sql, key, n, rule)) return 0;
    const available = (await availableTokens(this.sql, key, rule)) ?? this.burst;
    return Math.max(1, Math.ceil((n - available) / this.ratePerSec));
  }
}
