import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimBands, lshDatanetKey, sharedBandOwners } from './lsh-bands.js';

describe('lsh_bands: band claims and shared-band owners on Postgres', () => {
  let sql: postgres.Sql;
  const run = Date.now().toString(36);

  beforeAll(() => {
    sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql.end();
  });

  /** Claims (band, seq) pairs for one Datanet, as one scoring batch does. */
  const claim = (datanet: string, pairs: [number, number][]) => claimBands(sql, datanet, new Map(pairs));
  const rows = (datanet: string) =>
    sql<{ band: string; seq: string; shared: boolean }[]>`
      select band, seq, shared from lsh_bands where datanet_key = ${lshDatanetKey(datanet)}::bigint order by band`.then(
      (r) => r.map((x) => ({ band: Number(x.band), seq: Number(x.seq), shared: x.shared })),
    );

  it('keeps the lowest seq, marks a band shared only when another record claims it, and ignores a retried claim', async () => {
    const d = `lsh-a-${run}`;
    await claim(d, [
      [1, 50],
      [2, 51],
      [3, 52],
    ]);
    // The same batch again (an activity retry): nothing moves, nothing becomes shared.
    await claim(d, [
      [1, 50],
      [2, 51],
      [3, 52],
    ]);
    expect(await rows(d)).toEqual([
      { band: 1, seq: 50, shared: false },
      { band: 2, seq: 51, shared: false },
      { band: 3, seq: 52, shared: false },
    ]);
    // A later batch shares band 2; an earlier batch (scored after it) shares band 3 with a lower seq.
    await claim(d, [
      [2, 90],
      [4, 91],
    ]);
    await claim(d, [
      [3, 10],
      [5, 11],
    ]);
    expect(await rows(d)).toEqual([
      { band: 1, seq: 50, shared: false },
      { band: 2, seq: 51, shared: true },
      { band: 3, seq: 10, shared: true },
      { band: 4, seq: 91, shared: false },
      { band: 5, seq: 11, shared: false },
    ]);
    // Only shared bands are returned: the others are owned inside the batch that reads them.
    expect(await sharedBandOwners(sql, d, [1, 2, 3, 4, 5, 6])).toEqual(
      new Map([
        [2, 51],
        [3, 10],
      ]),
    );
  });

  it('computes the Datanet key as the migration carrying old rows over does', async () => {
    for (const id of ['dn-1', `lsh-${run}`, 'données-ünïcode', 'x'.repeat(200)]) {
      const [r] = await sql<{ key: string }[]>`
        select (('x' || encode(substring(sha256(convert_to(${id}, 'UTF8')) from 1 for 8), 'hex'))::bit(64)::bigint)::text as key`;
      expect(r?.key).toBe(lshDatanetKey(id));
    }
  });

  it('keeps Datanets apart, and looks up more bands than one chunk holds', async () => {
    const [d1, d2] = [`lsh-b1-${run}`, `lsh-b2-${run}`];
    expect(lshDatanetKey(d1)).not.toBe(lshDatanetKey(d2));
    const bands = Array.from({ length: 9000 }, (_, i) => i * 7919 + 3);
    await claimBands(sql, d1, new Map(bands.map((b, i) => [b, 1000 + i])));
    await claimBands(sql, d2, new Map(bands.map((b) => [b, 1])));
    expect((await sharedBandOwners(sql, d1, bands)).size).toBe(0);
    await claimBands(sql, d1, new Map(bands.map((b) => [b, 5])));
    const owners = await sharedBandOwners(sql, d1, bands);
    expect(owners.size).toBe(bands.length);
    expect([...owners.values()].every((s) => s === 5)).toBe(true);
    expect((await rows(d2)).every((r) => r.seq === 1 && !r.shared)).toBe(true);
  });

  it('gives every band one owner, the lowest seq, when batches claim concurrently', async () => {
    const d = `lsh-c-${run}`;
    const bands = Array.from({ length: 2000 }, (_, i) => i + 1);
    // Eight batches claim overlapping bands at once (seq = batch number), as parallel activities do.
    await Promise.all(
      Array.from({ length: 8 }, (_, k) =>
        claimBands(sql, d, new Map(bands.filter((b) => b % (k + 1) === 0).map((b) => [b, 100 + k]))),
      ),
    );
    const got = await rows(d);
    expect(got).toHaveLength(bands.length);
    for (const r of got) {
      const claimants = Array.from({ length: 8 }, (_, k) => k).filter((k) => r.band % (k + 1) === 0);
      expect(r.seq).toBe(100 + Math.min(...claimants));
      expect(r.shared).toBe(claimants.length > 1);
    }
  });
});
