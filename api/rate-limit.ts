/**
 * Token bucket per key (contributor address): `ratePerSec` sustained, `burst` at once. In-memory
 * per API instance; behind N instances the effective limit is N× (documented in README).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {}

  /** Takes `n` tokens; returns 0 when allowed, else the seconds to wait. */
  take(key: string, n = 1, now = Date.now()): number {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
    b.at = now;
    this.buckets.set(key, b);
    if (n > this.burst) return Math.ceil((n - b.tokens) / this.ratePerSec);
    if (b.tokens >= n) {
      b.tokens -= n;
      return 0;
    }
    return Math.ceil((n - b.tokens) / this.ratePerSec);
  }
}
