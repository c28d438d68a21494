import { describe, expect, it } from 'vitest';
import { attribute, attributeWithIndex, prepareInfluenceIndex, type InfluenceRecord } from './influence.js';
import { LinearSoftmaxModel, trainEpochs } from './linear-softmax.js';
import { sparseDot } from './features.js';
import { SYNTHETIC_LABELS, syntheticDataset } from './synthetic.js';

/** xs[i] for an index the test knows is in range; fails the test naming the index otherwise. */
function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i} (length ${xs.length})`);
  return x;
}

async function setup(): Promise<{ model: LinearSoftmaxModel; records: InfluenceRecord[] }> {
  const model = LinearSoftmaxModel.create(SYNTHETIC_LABELS, 1 << 16);
  const records: InfluenceRecord[] = syntheticDataset(300, 31, 6);
  // One distinctive record from a contributor with nothing else in the set.
  records.push({
    hash: 'special',
    contributor: 'alice',
    text: 'sourdough starter hydration levain autolyse crumb oven spring',
    label: 'cooking',
  });
  const ex = records.map((r) => ({ x: model.featurize(r.text), y: model.labelIndex(r.label) }));
  await trainEpochs(model, ex, { epochs: 2, learningRate: 0.5, l2: 1e-3, batchSize: 16, seed: 5 });
  return { model, records };
}

describe('influence', () => {
  it('a query identical to a training record attributes most weight to its contributor', async () => {
    const { model, records } = await setup();
    for (const mode of ['tracin', 'cosine'] as const) {
      const a = attribute(model, 'sourdough starter hydration levain autolyse crumb oven spring', records, 5, { mode });
      expect(at(a.records, 0).hash).toBe('special');
      expect(at(a.contributors, 0).contributor).toBe('alice');
      const sum = a.contributors.reduce((s, c) => s + c.weight, 0);
      expect(sum).toBeCloseTo(1, 10);
      expect(a.records.length).toBeLessThanOrEqual(5);
      for (let i = 1; i < a.records.length; i++)
        expect(at(a.records, i).influence).toBeLessThanOrEqual(at(a.records, i - 1).influence);
      // Contributor weights are exactly the per-contributor share of the top-K influences.
      const topTotal = a.records.reduce((s, r) => s + r.influence, 0);
      const alice = a.records.filter((r) => r.contributor === 'alice').reduce((s, r) => s + r.influence, 0);
      expect(at(a.contributors, 0).weight).toBeCloseTo(alice / topTotal, 10);
    }
  });

  it("contributorScope 'all' sums every proponent, so a long tail of related records can outweigh one exact match", async () => {
    const { model, records } = await setup();
    const a = attribute(model, 'sourdough starter hydration levain autolyse crumb oven spring', records, 5, {
      contributorScope: 'all',
    });
    expect(at(a.records, 0).hash).toBe('special');
    expect(a.contributors.reduce((s, c) => s + c.weight, 0)).toBeCloseTo(1, 10);
    const alice = a.contributors.find((c) => c.contributor === 'alice')!;
    expect(alice.weight).toBeGreaterThan(0);
    // Every contributor of cooking records is a proponent of this cooking query.
    expect(a.contributors.length).toBeGreaterThan(2);
  });

  it('matches the brute-force gradient dot product', async () => {
    const { model, records } = await setup();
    const index = prepareInfluenceIndex(model, records);
    const query = 'the team coach praised the striker after the match';
    const got = attributeWithIndex(index, model, query, 1000, { contributorScope: 'all' });
    const x = model.featurize(query);
    const p = model.predictProba(x);
    const yHat = p.indexOf(Math.max(...p));
    const expected = new Map<string, number>();
    for (const r of records) {
      const xi = model.featurize(r.text);
      const pi = model.predictProba(xi);
      const y = model.labelIndex(r.label);
      let rd = 0;
      for (let k = 0; k < p.length; k++) rd += (at(p, k) - (k === yHat ? 1 : 0)) * (at(pi, k) - (k === y ? 1 : 0));
      const inf = rd * sparseDot(x, xi);
      if (inf > 0) expected.set(r.hash, inf);
    }
    expect(got.records.length).toBe(expected.size);
    for (const r of got.records) expect(r.influence).toBeCloseTo(expected.get(r.hash)!, 5);
    // Proponents of a sports query are overwhelmingly sports records.
    const sports = got.records
      .slice(0, 20)
      .filter((r) => records.find((x) => x.hash === r.hash)!.label === 'sports').length;
    expect(sports).toBeGreaterThanOrEqual(18);
  });

  it('handles 10k records with sub-100ms queries', async () => {
    const model = LinearSoftmaxModel.create(SYNTHETIC_LABELS, 1 << 18);
    const records = syntheticDataset(10_000, 41, 50);
    const ex = records.map((r) => ({ x: model.featurize(r.text), y: model.labelIndex(r.label) }));
    await trainEpochs(model, ex, { epochs: 1, learningRate: 0.5, l2: 1e-4, batchSize: 32, seed: 1 });
    const index = prepareInfluenceIndex(
      model,
      records.map((r, i) => ({ ...r, x: at(ex, i).x })),
    );
    const t0 = performance.now();
    const queries = 20;
    const results = Array.from({ length: queries }, (_, q) =>
      attributeWithIndex(index, model, `the market for stock and bond ${q} was good`, 10),
    );
    const perQuery = (performance.now() - t0) / queries;
    expect(perQuery).toBeLessThan(100);
    expect(at(results, queries - 1).contributors.length).toBeGreaterThan(1);
  });
});
