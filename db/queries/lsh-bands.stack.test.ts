import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BAND_PARTS,
  claimBands,
  earlierBandOwners,
  lshDatanetKey,
  reduceBandClaims,
  sharedBandOwners,
  stageBandClaims,
} from './lsh-bands.js';

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
  const allBands = (bs: { owners: Map<number, number> }[]) => [...new Set(bs.flatMap((b) => [...b.owners.keys()]))];

  /**
   * What the dedupe pass of each batch learns from direct claims: its bands whose shared owner is an
   * earlier record than its own claim (the same thing `earlierBandOwners` returns after a reduction).
   */
  const expectedEarlier = async (direct: string, bs: { fromSeq: number; owners: Map<number, number> }[]) => {
    const shared = await sharedBandOwners(sql, direct, allBands(bs));
    return bs.map(
      (b) =>
        new Map([...b.owners].flatMap(([band, seq]) => (shared.get(band)! < seq ? [[band, shared.get(band)!]] : []))),
    );
  };
  const earlier = (datanet: string, bs: { fromSeq: number }[]) =>
    Promise.all(bs.map((b) => earlierBandOwners(sql, datanet, b.fromSeq)));

  it('staged claims, reduced, give each batch the earlier owners direct claims give; a retried batch counts once', async () => {
    const [direct, staged] = [`lsh-d1-${run}`, `lsh-d2-${run}`];
    // Few distinct bands, so many are claimed by several batches; one batch is staged twice (a retry).
    const bs = batches(7, 12, 600, 3000);
    for (const b of bs) await claimBands(sql, direct, b.owners);
    for (const b of [...bs, bs[3]!]) await stageBandClaims(sql, staged, b.fromSeq, b.owners);
    expect(await reduceBandClaims(sql, staged)).toEqual({ legacy: false });
    const want = await expectedEarlier(direct, bs);
    expect(want.reduce((n, m) => n + m.size, 0)).toBeGreaterThan(100);
    expect(await earlier(staged, bs)).toEqual(want);
    // Nothing went to lsh_bands, and the staged rows are gone once reduced.
    expect(await rows(staged)).toEqual([]);
    const key = lshDatanetKey(staged);
    const [left] = await sql<
      { n: number }[]
    >`select count(*)::int as n from lsh_band_claims where datanet_key = ${key}::bigint`;
    expect(left?.n).toBe(0);
    const reductions = await sql<
      { shared: number }[]
    >`select shared from lsh_band_reductions where datanet_key = ${key}::bigint`;
    expect(reductions).toHaveLength(BAND_PARTS);
    expect(reductions.reduce((a, r) => a + r.shared, 0)).toBe((await sharedBandOwners(sql, direct, allBands(bs))).size);
    // Reducing again changes nothing.
    expect(await reduceBandClaims(sql, staged)).toEqual({ legacy: false });
    expect(await earlier(staged, bs)).toEqual(want);
  });

  it('reduces each partition once when dedupe batches reduce in parallel', async () => {
    const [direct, staged] = [`lsh-p1-${run}`, `lsh-p2-${run}`];
    const bs = batches(11, 16, 800, 4000);
    for (const b of bs) await claimBands(sql, direct, b.owners);
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
    expect(await earlier(staged, bs)).toEqual(await expectedEarlier(direct, bs));
  });

  it('merges staged claims with direct claims made before an upgrade, as direct claims alone would', async () => {
    const [direct, mixed] = [`lsh-m1-${run}`, `lsh-m2-${run}`];
    const bs = batches(23, 10, 700, 3000);
    for (const b of bs) await claimBands(sql, direct, b.owners);
    // The first four batches were claimed by an old worker; the fourth is retried by a new one and
    // staged (the same claims: they must not become shared with themselves); the rest are staged.
    for (const b of bs.slice(0, 4)) await claimBands(sql, mixed, b.owners);
    for (const b of bs.slice(3)) await stageBandClaims(sql, mixed, b.fromSeq, b.owners);
    expect(await reduceBandClaims(sql, mixed)).toEqual({ legacy: true });
    const bands = allBands(bs);
    expect(await sharedBandOwners(sql, mixed, bands)).toEqual(await sharedBandOwners(sql, direct, bands));
    const [r] = await sql<{ legacy: boolean }[]>`
      select bool_and(legacy) as legacy from lsh_band_reductions where datanet_key = ${lshDatanetKey(mixed)}::bigint`;
    expect(r?.legacy).toBe(true);
  });
});
