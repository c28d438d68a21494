import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyLookup } from './api-key-lookup.js';
import { sha256 } from './api-key-auth.js';
import { insertApiKey, revokeApiKey } from '../db/queries/api-keys.js';

describe('API key lookup on Postgres (coalesced, no cache)', () => {
  let sql: postgres.Sql;
  let queries = 0;
  const run = Date.now().toString(36);
  beforeAll(() => {
    sql = postgres(process.env.DATABASE_URL!, { max: 4, onnotice: () => {}, debug: () => void queries++ });
  });
  afterAll(() => sql.end());

  async function issue(owner: string) {
    const key = `ck_${randomBytes(12).toString('hex')}`;
    const id = `key_${run}_${randomBytes(4).toString('hex')}`;
    await insertApiKey(sql, { id, keyHash: sha256(key), owner });
    return { id, hash: sha256(key) };
  }

  it('answers many calls with few queries, each with its own key', async () => {
    const keys = await Promise.all([1, 2, 3].map((i) => issue(`owner-${run}-${i}`)));
    const lookup = new ApiKeyLookup(sql);
    const before = queries;
    const asked = Array.from({ length: 300 }, (_, i) => (i % 4 === 3 ? sha256(`unknown-${i}`) : keys[i % 4]!.hash));
    const found = await Promise.all(asked.map((h) => lookup.find(h)));
    asked.forEach((h, i) => {
      const k = keys.find((x) => x.hash === h);
      expect(found[i]).toEqual(k ? { id: k.id, owner: `owner-${run}-${(i % 4) + 1}`, revoked: false } : undefined);
    });
    expect(queries - before).toBeLessThanOrEqual(3);
  });

  it('a call that arrives after a revocation commits is refused, even while an older lookup is still answering', async () => {
    const k = await issue(`owner-${run}-revoke`);
    // Answers reach the lookup 300 ms after Postgres produced them (a slow network): the first
    // lookup's snapshot predates the revocation, and it is still "in flight" when it commits.
    const slow = ((strings: TemplateStringsArray, ...values: unknown[]) =>
      (sql(strings, ...(values as never[])) as Promise<unknown>).then(
        (rows) => new Promise((res) => setTimeout(() => res(rows), 300)),
      )) as unknown as postgres.Sql;
    const lookup = new ApiKeyLookup(slow, { maxInFlight: 1 });
    const early = lookup.find(k.hash);
    await new Promise((r) => setTimeout(r, 50)); // the first query has run on Postgres
    expect(await revokeApiKey(sql, k.id, undefined)).toBe(true);
    const late = lookup.find(k.hash);
    expect((await early)?.revoked).toBe(false); // it arrived before the revocation
    expect((await late)?.revoked).toBe(true); // it did not join the older query
  });

  it('a failed query fails the calls waiting on it, and the next calls get a new query', async () => {
    const k = await issue(`owner-${run}-fail`);
    let fail = true;
    const flaky = ((strings: TemplateStringsArray, ...values: unknown[]) =>
      fail
        ? Promise.reject(new Error('connection lost'))
        : (sql(strings, ...(values as never[])) as Promise<unknown>)) as unknown as postgres.Sql;
    const lookup = new ApiKeyLookup(flaky);
    await expect(lookup.find(k.hash)).rejects.toThrow('connection lost');
    fail = false;
    expect((await lookup.find(k.hash))?.id).toBe(k.id);
  });
});
