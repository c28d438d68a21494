import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AttributionIndex,
  AttributionIndexBuilder,
  FeatureSketch,
  GradientProjector,
  projectionWidth,
  type AttributionIndexHeader,
  type AttributionIndexOptions,
  promoteAttributionIndex,
  uploadAttributionIndex,
} from './attribution-index.js';
import { MemoryStore } from '../../storage/memory-store.js';
import { loadSpamAssassin } from './corpus.js';
import { featurize, sparseDot } from './features.js';
import { attributeWithIndex, prepareInfluenceIndex } from './influence.js';
import { LinearSoftmaxModel, trainEpochs } from './linear-softmax.js';
import { SYNTHETIC_LABELS, syntheticDataset } from './synthetic.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'commons-attr-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The index options before the feature store: a cosine graph of i8 vectors, a 512-bit sketch. */
const PREVIOUS_DEFAULTS: Partial<AttributionIndexOptions> = {
  projDim: 32,
  graphQuantization: 'i8',
  graphMetric: 'cos',
  featureStore: false,
  sketchBits: 512,
  candidates: 256,
};

async function trainedSynthetic(n: number) {
  const model = LinearSoftmaxModel.create(SYNTHETIC_LABELS, 1 << 16);
  const records = syntheticDataset(n, 21, 9);
  const ex = records.map((r) => ({ x: model.featurize(r.text), y: model.labelIndex(r.label) }));
  await trainEpochs(model, ex, { epochs: 2, learningRate: 0.5, l2: 1e-4, batchSize: 32, seed: 1 });
  return { model, records };
}

describe('GradientProjector', () => {
  it('keeps residual dot products exactly and feature dot products approximately (JL)', () => {
    const model = LinearSoftmaxModel.create(['a', 'b', 'c'], 1 << 14);
    const x = model.featurize('the striker scored a late goal for the home team');
    const y = model.featurize('the team scored a goal after the striker ran');
    const r1 = [0.2, -0.5, 0.3];
    const r2 = [-0.1, 0.4, -0.3];
    const rr = r1.reduce((s, v, k) => s + v * r2[k]!, 0);
    const exact = rr * sparseDot(x, y);
    // Averaged over projection seeds the estimate is unbiased; each one errs by ~‖g‖‖g'‖/√d.
    let sum = 0;
    const seeds = 40;
    for (let seed = 1; seed <= seeds; seed++) {
      const P = new GradientProjector(3, 64, seed);
      const a = new Float32Array(P.dims);
      const b = new Float32Array(P.dims);
      P.project(x, r1, a);
      P.project(y, r2, b);
      sum += a.reduce((s, v, j) => s + v * b[j]!, 0);
    }
    expect(Math.abs(sum / seeds - exact)).toBeLessThan(0.05 * Math.abs(exact) + 0.01);
  });

  it('projects with the same P as every index already built (its entries are pinned)', () => {
    // A stored index is searched with queries projected here: a change to P's hash bits would make
    // every deployed graph return the wrong candidates without failing any other check.
    const P = new GradientProjector(3, 40, 0x7ac1);
    const z = P.projectFeatures(featurize('the striker scored a late goal for the home team'));
    expect(
      createHash('sha256')
        .update(new Uint8Array(z.buffer, z.byteOffset, z.byteLength))
        .digest('hex'),
    ).toBe('e96f0db8245e90f810c8cc6dcb36e5e2eff8fd015b23168ea6053854d19b1077');
  });
});

describe('AttributionIndex', () => {
  it('writes, verifies and reopens an index whose graph search returns the projected top proponents', async () => {
    const { model, records } = await trainedSynthetic(3000);
    const all = records.map((r) => ({ ...r, hash: createHash('sha256').update(r.hash).digest('hex') }));
    // The graph alone (no feature store, no sketch): what it returns is checked against its own projection.
    const b = new AttributionIndexBuilder(model, { featureStore: false, sketchBits: 0 });
    for (const r of all) b.add(r);
    const dir = await tempDir();
    // One thread: a parallel build inserts in a different order each run, so its graph (and the
    // recall below) varies from run to run; one thread builds the same graph every time.
    const header = await b.write(dir, () => {}, 1);
    expect(header.size).toBe(all.length);
    expect(header.sketch).toBeUndefined();
    expect(header.hashEncoding).toBe('hex32');
    const index = await AttributionIndex.open(dir);

    // Brute force over the same projected gradients: what an exhaustive search would return.
    const K = model.labels.length;
    const P = new GradientProjector(K, projectionWidth(K, header.options.projDim), header.options.seed);
    const phi = new Float32Array(all.length * P.dims);
    const p = new Float64Array(K);
    all.forEach((r, i) => {
      const x = model.featurize(r.text);
      model.predictProba(x, p);
      p[model.labelIndex(r.label)]! -= 1;
      P.project(x, p, phi, i * P.dims);
    });
    const byHash = new Map(all.map((r, i) => [r.hash, i]));
    let overlap = 0;
    const queries = syntheticDataset(20, 5, 1).map((r) => r.text);
    for (const text of queries) {
      const x = model.featurize(text);
      model.predictProba(x, p);
      let yHat = 0;
      for (let k = 1; k < K; k++) if (p[k]! > p[yHat]!) yHat = k;
      p[yHat]! -= 1;
      const q = new Float32Array(P.dims);
      const qNorm = P.project(x, p, q);
      const scores = all.map((_, i) => q.reduce((s, v, j) => s + v * phi[i * P.dims + j]!, 0));
      const best = scores.map((s, i) => [s, i] as const).sort((u, v) => v[0] - u[0]);
      const top = new Set(best.slice(0, 5).map(([, i]) => i));
      const a = index.attribute(model, text, 5);
      expect(a.records).toHaveLength(5);
      expect(a.contributors.reduce((s, c) => s + c.weight, 0)).toBeCloseTo(1, 6);
      for (const r of a.records) {
        const i = byHash.get(r.hash)!;
        expect(r.contributor).toBe(all[i]!.contributor);
        // The estimate is the projected dot product, up to i8 rounding of unit vectors (a few
        // 1/127ths of the cosine scale M·‖φ_q‖).
        expect(Math.abs(r.influence - scores[i]!)).toBeLessThan((3 / 127) * header.maxNorm * qNorm);
        if (top.has(i)) overlap++;
      }
    }
    expect(overlap / (5 * queries.length)).toBeGreaterThanOrEqual(0.8);

    // A flipped byte in the graph is refused at load.
    const bytes = await readFile(join(dir, 'ann.usearch'));
    bytes[bytes.length - 1]! ^= 0xff;
    await writeFile(join(dir, 'ann.usearch'), bytes);
    await expect(AttributionIndex.open(dir)).rejects.toThrow(/checksum/);
  });

  it('keeps hashes that are not hex digests and refuses another label set', async () => {
    const { model, records } = await trainedSynthetic(500);
    const b = new AttributionIndexBuilder(model, { projDim: 16 });
    for (const r of records) b.add(r);
    const dir = await tempDir();
    expect((await b.write(dir)).hashEncoding).toBe('utf8');
    const index = await AttributionIndex.open(dir);
    const byHash = new Map(records.map((r) => [r.hash, r.contributor]));
    const a = index.attribute(model, 'the market for stock and bond was good', 10);
    expect(a.records.length).toBeGreaterThan(0);
    for (const r of a.records) expect(byHash.get(r.hash)).toBe(r.contributor);
    const other = LinearSoftmaxModel.create(['x', 'y'], 1 << 16);
    expect(() => index.attribute(other, 'anything', 5)).toThrow(/label set/);
  });

  it('re-ranks graph candidates by their exact TracIn score from the feature store', async () => {
    const { model, records } = await trainedSynthetic(3000);
    const all = records.map((r) => ({ ...r, hash: createHash('sha256').update(r.hash).digest('hex') }));
    const b = new AttributionIndexBuilder(model);
    for (const r of all) b.add(r);
    const dir = await tempDir();
    const header = await b.write(dir, () => {}, 1); // one thread: the same graph every run
    expect(header.format).toBe(3);
    expect(header.sketch).toBeUndefined();
    expect(header.features).toEqual({ extras: model.labels.length - 1 });
    const index = await AttributionIndex.open(dir);
    expect(index.scoring).toBe('exact');
    const exact = prepareInfluenceIndex(model, all);
    const byHash = new Map(all.map((r, i) => [r.hash, i]));
    let found = 0;
    let asked = 0;
    const queries = syntheticDataset(20, 5, 1).map((r) => r.text);
    for (const text of queries) {
      const e = attributeWithIndex(exact, model, text, 5);
      // Scored over every record, the feature store gives exact TracIn (up to f32 rounding).
      const full = index.attributeExhaustive(model, text, 5);
      expect(full.records.map((r) => r.influence)).toEqual(
        e.records.map((r) => expect.closeTo(r.influence, 5) as unknown as number),
      );
      const a = index.attribute(model, text, 5);
      expect(a.records).toHaveLength(5);
      expect(a.contributors.reduce((s, c) => s + c.weight, 0)).toBeCloseTo(1, 6);
      const fifth = e.records.at(-1)!.influence;
      for (const r of a.records) {
        const i = byHash.get(r.hash)!;
        expect(r.contributor).toBe(all[i]!.contributor);
        // Every served score is the record's exact TracIn score.
        const own = attributeWithIndex(exact, model, text, all.length).records.find((x) => x.hash === r.hash);
        expect(r.influence).toBeCloseTo(own!.influence, 5);
        // Found: scores at least the exact fifth best (synthetic records tie often).
        if (r.influence >= fifth * (1 - 1e-5)) found++;
      }
      asked += 5;
    }
    expect(found / asked).toBeGreaterThanOrEqual(0.7);

    // A flipped byte in the feature store is refused at load.
    const bytes = await readFile(join(dir, 'features.bin'));
    bytes[9]! ^= 0x01;
    await writeFile(join(dir, 'features.bin'), bytes);
    await expect(AttributionIndex.open(dir)).rejects.toThrow(/features fail their checksum/);
  });

  it('serves an index built before the feature store (format 2) by the one-bit sketch estimate', async () => {
    const { model, records } = await trainedSynthetic(3000);
    const all = records.map((r) => ({ ...r, hash: createHash('sha256').update(r.hash).digest('hex') }));
    const b = new AttributionIndexBuilder(model, PREVIOUS_DEFAULTS);
    for (const r of all) b.add(r);
    const dir = await tempDir();
    const written = await b.write(dir, () => {}, 1); // one thread: the same graph every run
    // The header as the previous version wrote it: format 2, no option it did not know.
    const { featureStore: _store, graphMetric: _metric, ...previousOptions } = written.options;
    const header = { ...written, format: 2, options: previousOptions as AttributionIndexOptions };
    await writeFile(join(dir, 'header.json'), JSON.stringify(header));
    expect(header.sketch?.bytesPerRecord).toBe(header.options.sketchBits / 8 + 2 * (model.labels.length - 1));
    const index = await AttributionIndex.open(dir);
    expect(index.scoring).toBe('sketch');

    // The estimate recomputed from its definition: (B r_q)·(c_i B r_i)·⟨S x_q, sign(S x_i)⟩ with
    // c_i = ‖S x_i‖²/‖S x_i‖₁, in f64 (the index keeps c_i B r_i as i16, so it agrees to ~1e-4).
    const K = model.labels.length;
    const P = new GradientProjector(K, projectionWidth(K, header.options.projDim), header.options.seed);
    const S = new FeatureSketch(header.options.sketchBits, header.options.sketchNnz, header.options.seed);
    const p = new Float64Array(K);
    const residualBasis = (text: string, label: number | undefined) => {
      const x = model.featurize(text);
      model.predictProba(x, p);
      let y = label ?? 0;
      if (label === undefined) for (let k = 1; k < K; k++) if (p[k]! > p[y]!) y = k;
      p[y]! -= 1;
      return { x, br: Float64Array.from(P.residualBasis(p, new Float64Array(K - 1))) };
    };
    const byHash = new Map(all.map((r, i) => [r.hash, i]));
    const estimate = (query: string, i: number) => {
      const q = residualBasis(query, undefined);
      const rec = residualBasis(all[i]!.text, model.labelIndex(all[i]!.label));
      const u = S.project(q.x, new Float64Array(S.bits));
      const v = S.project(rec.x, new Float64Array(S.bits));
      const l1 = v.reduce((a, c) => a + Math.abs(c), 0);
      const l2 = v.reduce((a, c) => a + c * c, 0);
      const rr = q.br.reduce((a, c, j) => a + c * rec.br[j]!, 0);
      return rr * (l2 / l1) * u.reduce((a, c, j) => a + c * (v[j]! > 0 ? 1 : -1), 0);
    };
    let overlap = 0;
    let captured = 0;
    const queries = syntheticDataset(20, 5, 1).map((r) => r.text);
    for (const text of queries) {
      const full = index.attributeExhaustive(model, text, 5);
      const a = index.attribute(model, text, 5);
      expect(a.records).toHaveLength(5);
      expect(a.contributors.reduce((s, c) => s + c.weight, 0)).toBeCloseTo(1, 6);
      // Found: scores at least the exhaustive fifth best (synthetic records tie often, so which of
      // several equal records is named is not the point).
      const fifth = full.records.at(-1)!.influence;
      const sum = (x: typeof a) => x.records.reduce((t, r) => t + r.influence, 0);
      captured += sum(a) / sum(full);
      for (const r of a.records) {
        const i = byHash.get(r.hash)!;
        expect(r.contributor).toBe(all[i]!.contributor);
        expect(Math.abs(r.influence - estimate(text, i))).toBeLessThan(1e-3 * Math.abs(r.influence) + 1e-6);
        if (r.influence >= fifth * (1 - 1e-9)) overlap++;
      }
      // Nearest first, proponents only.
      for (let j = 1; j < a.records.length; j++)
        expect(a.records[j]!.influence).toBeLessThanOrEqual(a.records[j - 1]!.influence);
    }
    // Synthetic records crowd the top with near-equal scores, so the graph's candidates name most
    // of the exhaustive top 5 and nearly all of its estimated influence.
    expect(overlap / (5 * queries.length)).toBeGreaterThanOrEqual(0.7);
    expect(captured / queries.length).toBeGreaterThanOrEqual(0.95);

    // A flipped bit in the sketch is refused at load.
    const bytes = await readFile(join(dir, 'sketch.bin'));
    bytes[0]! ^= 0x01;
    await writeFile(join(dir, 'sketch.bin'), bytes);
    await expect(AttributionIndex.open(dir)).rejects.toThrow(/sketch fails its checksum/);
  });

  it('stores the same content whatever the thread count (several spilled chunks)', async () => {
    const { model, records } = await trainedSynthetic(40_000);
    const headers: AttributionIndexHeader[] = [];
    for (const threads of [1, 2]) {
      const b = new AttributionIndexBuilder(model, {}, await tempDir());
      for (const r of records) b.add(r);
      const dir = await tempDir();
      headers.push(await b.write(dir, () => {}, threads));
      const index = await AttributionIndex.open(dir);
      expect(index.size).toBe(records.length);
      expect(index.attribute(model, records[7]!.text, 5).records.length).toBeGreaterThan(0);
    }
    const [one, two] = headers as [AttributionIndexHeader, AttributionIndexHeader];
    expect(one.contentSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(two.contentSha256).toBe(one.contentSha256);
    expect(two.sha256.records).toBe(one.sha256.records);
    expect(two.sha256.features).toBe(one.sha256.features);
    expect(two.maxNorm).toBe(one.maxNorm);
  }, 120_000);

  it('uploads, promotes (idempotently, checksums verified) and loads every object from a store', async () => {
    const { model, records } = await trainedSynthetic(800);
    const b = new AttributionIndexBuilder(model);
    for (const r of records) b.add(r);
    const dir = await tempDir();
    const header = await b.write(dir);
    const store = new MemoryStore();
    await uploadAttributionIndex(store, dir, 'staging/j/attribution/');
    const promoted = await promoteAttributionIndex(store, 'staging/j/attribution/', 'models/m/1/attribution/');
    expect(promoted.sha256).toEqual(header.sha256);
    await promoteAttributionIndex(store, 'staging/j/attribution/', 'models/m/1/attribution/');
    for (const f of ['header.json', 'records.bin', 'features.bin', 'ann.usearch'])
      expect(store.objects.has(`models/m/1/attribution/${f}`)).toBe(true);
    const cache = await tempDir();
    const served = await AttributionIndex.fromStore(store, 'models/m/1/attribution/', cache);
    const local = await AttributionIndex.open(dir);
    expect(served.scoring).toBe('exact');
    const text = records[11]!.text;
    expect(served.attribute(model, text, 5)).toEqual(local.attribute(model, text, 5));

    // A promoted feature store that differs from what the header names is refused.
    const bytes = await readFile(join(dir, 'features.bin'));
    bytes[1]! ^= 0x10;
    await store.put('models/m/2/attribution/features.bin', bytes);
    await expect(promoteAttributionIndex(store, 'staging/j/attribution/', 'models/m/2/attribution/')).rejects.toThrow(
      /checksum mismatch/,
    );
  });

  it('refuses an index in another format', async () => {
    const { model, records } = await trainedSynthetic(500);
    const b = new AttributionIndexBuilder(model, { sketchBits: 0 });
    for (const r of records) b.add(r);
    const dir = await tempDir();
    const written = await b.write(dir);
    await writeFile(join(dir, 'header.json'), JSON.stringify({ ...written, format: 1 }));
    await expect(AttributionIndex.open(dir)).rejects.toThrow(/unsupported attribution index tracin-projected v1/);
  });

  // Fidelity against exact TracIn on SpamAssassin (docs/attribution.md reports the full
  // figures, `npm run bench:attribution-fidelity` measures them at 5,000 / 300). A random pick of
  // 5 from 3,000 has recall@5 ≈ 0.002.
  it('recovers the exact top proponents on SpamAssassin, better by exact re-ranking than by the sketch', async () => {
    const mails = loadSpamAssassin({ seed: 1 });
    const train = mails.slice(0, 3000).map((m, i) => ({
      hash: `r${m.id}`,
      contributor: `c${i % 40}`,
      text: m.text,
      label: m.label,
    }));
    const queries = mails.slice(3000, 3120);
    const model = LinearSoftmaxModel.create(['ham', 'spam']);
    const ex = train.map((r) => ({ x: model.featurize(r.text), y: model.labelIndex(r.label) }));
    await trainEpochs(model, ex, { epochs: 6, learningRate: 0.5, l2: 1e-4, batchSize: 32, seed: 1 });
    const exact = prepareInfluenceIndex(
      model,
      train.map((r, i) => ({ ...r, x: ex[i]!.x })),
    );
    const fidelity = async (options: Partial<AttributionIndexOptions>) => {
      const b = new AttributionIndexBuilder(model, options);
      train.forEach((r, i) => b.add({ ...r, x: ex[i]!.x }));
      const dir = await tempDir();
      await b.write(dir, () => {}, 1); // one thread: the same graph every run
      const ann = await AttributionIndex.open(dir);
      let recall = 0;
      let tvd = 0;
      let n = 0;
      for (const q of queries) {
        const e = attributeWithIndex(exact, model, q.text, 5);
        if (e.records.length === 0) continue;
        const a = ann.attribute(model, q.text, 5);
        n++;
        const top = new Set(e.records.map((r) => r.hash));
        recall += a.records.filter((r) => top.has(r.hash)).length / e.records.length;
        const diff = new Map(e.contributors.map((c) => [c.contributor, c.weight]));
        for (const c of a.contributors) diff.set(c.contributor, (diff.get(c.contributor) ?? 0) - c.weight);
        tvd += [...diff.values()].reduce((s, v) => s + Math.abs(v), 0) / 2;
      }
      expect(n).toBeGreaterThan(80);
      return { recall: recall / n, tvd: tvd / n };
    };
    // The previous default (sketch re-rank of 256 candidates) against the feature store's exact one.
    const before = await fidelity(PREVIOUS_DEFAULTS);
    const now = await fidelity({});
    expect(before.recall).toBeGreaterThan(0.45);
    expect(now.recall).toBeGreaterThan(0.6);
    expect(now.recall).toBeGreaterThan(before.recall + 0.05);
    expect(now.tvd).toBeLessThan(before.tvd);
  }, 300_000);
});
