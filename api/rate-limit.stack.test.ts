import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limit.js';

describe('contribution rate limiter on Postgres', () => {
  let sql: postgres.Sql;
  const run = Date.now().toString(36);
  beforeAll(() => {
    sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
  });
  afterAll(() => sql.end());

  it('shares one bucket between API instances', async () => {
    // Two limiters stand for two API pods: together they admit the burst once, not twice.
    const a = new RateLimiter(sql, 1, 10);
    const b = new RateLimiter(sql, 1, 10);
    const key = `shared-${run}`;
    expect(await a.take(key, 6)).toBe(0);
    const wait = await b.take(key, 6);
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(3);
    expect(await b.take(key, 4)).toBe(0);
    expect(await a.take(key, 1)).toBeGreaterThanOrEqual(1);
  });

  it('admits exactly the burst under concurrent requests', async () => {
    const limiters = Array.from({ length: 4 }, () => new RateLimiter(sql, 0.001, 20));
    const key = `race-${run}`;
    const waits = await Promise.all(limiters.flatMap((l) => Array.from({ length: 10 }, () => l.take(key, 1))));
    expect(waits.filter((w) => w === 0)).toHaveLength(20);
  });

  it('refills at the sustained rate', async () => {
    const l = new RateLimiter(sql, 10, 5);
    const key = `refill-${run}`;
    expect(await l.take(key, 5)).toBe(0);
    expect(await l.take(key, 5)).toBe(1); // 5 tokens at 10/s: under a second
    await new Promise((r) => setTimeout(r, 600)); // 10/s × 0.6 s = 6 tokens, capped at 5
    expect(await l.take(key, 5)).toBe(0);
  });

  it('refuses outright what can never fit in the burst', async () => {
    const l = new RateLimiter(sql, 10, 5);
    expect(await l.take(`big-${run}`, 6)).toBe(Infinity);
    expect(() => new RateLimiter(sql, 0, 5)).toThrow(/positive rate/);
  });
});
