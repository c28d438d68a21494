import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAND_PARTS, earlierBandOwners, lshDatanetKey, reduceBandClaims, stageBandClaims } from './lsh-bands.js';

describe('LSH band claims: staged, reduced once, earlier owners read back on Postgres', () => {
  let sql: postgres.Sql;
  const run = Date.now().toString(36);

  beforeAll(() => {
    sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql.end();
  });

  /** Scoring batches as (fromSeq, band -> lowest seq) with overlapping bands, from a seeded generator. */
  const batches = (seed: number, n: number, perBatch: number, bandSpace: number) => {
    let x = seed;
    const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x);
    return Array.from({ length: n }, (_, k) => {
      const fromSeq = 1 + k * 1000;
      const m = new Map<number, number>();
      for (let i = 0; i < perBatch; i++) {
        // Large keys (as band keys are), spread over every partition.
        const band = (next() % bandSpace) * 2654435761 + 1;
        const seq = fromSeq + (next() % 1000);
        const cur = m.get(band);
        if (cur === undefined || seq < cur) m.set(band, seq);
      }
      return { fromSeq, owners: m };
    });
  };

  /**
   * The rule, computed directly: each band is owned by its lowest seq over every batch; a batch learns
   * its bands owned by an earlier record than its own claim (necessarily in another batch). `shared`
   * counts the bands more than one batch claimed.
   */
  const expected = (bs: { owners: Map<number, number> }[]) => {
    const lowest = new Map<number, number>();
    const claimants = new Map<number, number>();
    for (const b of bs)
      for (const [band, seq] of b.owners) {
        lowest.set(band, Math.min(seq, lowest.get(band) ?? Infinity));
        claimants.set(band, (claimants.get(band) ?? 0) + 1);
      }
    return {
      earlier: bs.map(
        (b) =>
          new Map([...b.owners].flatMap(([band, seq]) => (lowest.get(band)! < seq ? [[band, lowest.get(band)!]] : []))),
      ),
      shared: [...claimants.values()].filter((n) => n > 1).length,
    };
  };
  const earlier = (datanet: string, bs: { fromSeq: number }[]) =>
    Promise.all(bs.map((b) => earlierBandOwners(sql, datanet, b.fromSeq)));

  it('gives each batch the earlier owners of its bands; a retried batch counts once; reducing again changes nothing', async () => {
    const staged = `lsh-s-${run}`;
    // Few distinct bands, so many are claimed by several batches; one batch is staged twice (a retry).
    const bs = batches(7, 12, 600, 3000);
    for (const b of [...bs, bs[3]!]) await stageBandClaims(sql, staged, b.fromSeq, b.owners);
    await reduceBandClaims(sql, staged);
    const want = expected(bs);
    expect(want.earlier.reduce((n, m) => n + m.size, 0)).toBeGreaterThan(100);
    expect(await earlier(staged, bs)).toEqual(want.earlier);
    // The staged rows are gone once reduced.
    const key = lshDatanetKey(staged);
    const [left] = await sql<
      { n: number }[]
    >`select count(*)::int as n from lsh_band_claims where datanet_key = ${key}::bigint`;
    expect(left?.n).toBe(0);
    const reductions = await sql<
      { shared: number }[]
    >`select shared from lsh_band_reductions where datanet_key = ${key}::bigint`;
    expect(reductions).toHaveLength(BAND_PARTS);
    expect(reductions.reduce((a, r) => a + r.shared, 0)).toBe(want.shared);
    // Reducing again changes nothing.
    await reduceBandClaims(sql, staged);
    expect(await earlier(staged, bs)).toEqual(want.earlier);
  });

  it('keeps Datanets apart', async () => {
    const [d1, d2] = [`lsh-b1-${run}`, `lsh-b2-${run}`];
    expect(lshDatanetKey(d1)).not.toBe(lshDatanetKey(d2));
    const bands = Array.from({ length: 9000 }, (_, i) => i * 7919 + 3);
    // d2 holds every band at a lower seq; d1's two batches share them only with each other.
    await stageBandClaims(sql, d2, 1, new Map(bands.map((b) => [b, 1])));
    await stageBandClaims(sql, d1, 1, new Map(bands.map((b) => [b, 5])));
    await stageBandClaims(sql, d1, 1001, new Map(bands.map((b, i) => [b, 1001 + (i % 999)])));
    await reduceBandClaims(sql, d1);
    await reduceBandClaims(sql, d2);
    expect((await earlierBandOwners(sql, d1, 1)).size).toBe(0);
    const owners = await earlierBandOwners(sql, d1, 1001);
    expect(owners.size).toBe(bands.length);
    expect([...owners.values()].every((s) => s === 5)).toBe(true);
    expect((await earlierBandOwners(sql, d2, 1)).size).toBe(0);
  });

  it('reduces each partition once when dedupe batches reduce in parallel', async () => {
    const staged = `lsh-p-${run}`;
    const bs = batches(11, 16, 800, 4000);
    await Promise.all(bs.map((b) => stageBandClaims(sql, staged, b.fromSeq, b.owners)));
    const reducedBy: number[][] = [[], [], [], []];
    await Promise.all(
      reducedBy.map((mine, k) => reduceBandClaims(sql, staged, { startPart: k * 16, onPart: (p) => mine.push(p) })),
    );
    // Every caller returns only once every partition is reduced; together they saw each one.
    for (const mine of reducedBy) expect(mine.length).toBeGreaterThan(0);
    expect(new Set(reducedBy.flat()).size).toBe(BAND_PARTS);
    const [r] = await sql<{ n: number }[]>`
      select count(*)::int as n from lsh_band_reductions where datanet_key = ${lshDatanetKey(staged)}::bigint`;
    expect(r?.n).toBe(BAND_PARTS);
    expect(await earlier(staged, bs)).toEqual(expected(bs).earlier);
  });
});
