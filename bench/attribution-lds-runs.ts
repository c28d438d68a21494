// The two LDS experiments of bench:attribution-fidelity (see bench/attribution-lds.ts for the
// score): the embedded classifier retrained without each subset of contributors (exact TracIn and
// the attribution index), and a retrieval-augmented generation model rebuilt without them
// (retrieval weights and span matching).
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttributionIndex, AttributionIndexBuilder } from '../ml/embedded/attribution-index.js';
import type { SparseVector } from '../ml/embedded/features.js';
import { attributeWithIndex, type InfluenceIndex } from '../ml/embedded/influence.js';
import { LinearSoftmaxModel, trainEpochs, type Example, type TrainOptions } from '../ml/embedded/linear-softmax.js';
import { RagModel, type RagDocument } from '../ml/generative/rag-model.js';
import { syntheticQa } from '../ml/generative/synthetic-qa.js';
import { tokenF1 } from '../ml/generative/text-metrics.js';
import { SpanIndex, SpanIndexBuilder, attributeSpans } from '../ml/spans/index.js';
import { halfSubsets, lds, weightsOf, type GroupWeights } from './attribution-lds.js';

const SUBSETS = Number(process.env.BENCH_LDS_SUBSETS ?? 50);
const QUERIES = Number(process.env.BENCH_LDS_QUERIES ?? 100);
const GROUPS = 40;
type Rows = Record<string, { mean: number; lo: number; hi: number; named: number }>;
const log = (m: string) => console.log(`[bench:attribution-fidelity] ${m}`);

/**
 * Per-contributor sums of the signed TracIn scores of every record, opponents included: the
 * linear datamodel TracIn stands for (the served weights keep proponents only).
 */
function signedTracIn(
  model: LinearSoftmaxModel,
  train: readonly { contributor: string }[],
  examples: readonly Example[],
  exactIndex: InfluenceIndex,
  x: SparseVector,
  label: number,
): GroupWeights {
  const K = model.labels.length;
  const r = model.predictProba(x);
  r[label]! -= 1;
  const dense = new Float64Array(model.dim);
  x.indices.forEach((id, j) => (dense[id] = x.values[j]!));
  const sums = new Map<string, number>();
  examples.forEach((e, i) => {
    let rr = 0;
    for (let k = 0; k < K; k++) rr += r[k]! * exactIndex.residuals[i * K + k]!;
    let dot = 0;
    for (let j = 0; j < e.x.indices.length; j++) dot += dense[e.x.indices[j]!]! * e.x.values[j]!;
    const c = train[i]!.contributor;
    sums.set(c, (sums.get(c) ?? 0) + rr * dot);
  });
  return sums;
}

/** log p(label | x): the classifier's output on a query, for its full model's predicted label. */
function logProb(model: LinearSoftmaxModel, x: SparseVector, label: number): number {
  return Math.log(Math.max(1e-12, model.predictProba(x)[label]!));
}

export async function ldsOfClassifier(a: {
  model: LinearSoftmaxModel;
  train: { hash: string; contributor: string; text: string; label: string }[];
  examples: Example[];
  queries: { text: string; x: SparseVector }[];
  exactIndex: InfluenceIndex;
  trainOptions: TrainOptions;
  top: number;
}): Promise<Rows> {
  const { model, train, examples, exactIndex, top } = a;
  const groups = [...new Set(train.map((r) => r.contributor))];
  const subsets = halfSubsets(groups, SUBSETS, 1);
  const asked = a.queries.slice(0, QUERIES);
  const queries = asked.map((q) => q.x);
  const labels = queries.map((x) => {
    const p = model.predictProba(x);
    return p.indexOf(Math.max(...p));
  });
  const full = queries.map((x, q) => logProb(model, x, labels[q]!));
  const t = performance.now();
  const actual: number[][] = [];
  for (const S of subsets) {
    const m = LinearSoftmaxModel.create(model.labels, model.features);
    await trainEpochs(
      m,
      examples.filter((_, i) => !S.has(train[i]!.contributor)),
      a.trainOptions,
    );
    actual.push(queries.map((x, q) => logProb(m, x, labels[q]!) - full[q]!));
  }
  log(
    `classifier: ${SUBSETS} retrainings without half of ${groups.length} contributors in ${((performance.now() - t) / 1000).toFixed(0)} s`,
  );

  const dir = await mkdtemp(join(tmpdir(), 'commons-bench-lds-'));
  try {
    const b = new AttributionIndexBuilder(model);
    train.forEach((r, i) => b.add({ ...r, x: examples[i]!.x }));
    await b.write(dir);
    const index = await AttributionIndex.open(dir);
    const signed = queries.map((x, q) => signedTracIn(model, train, examples, exactIndex, x, labels[q]!));
    const all: GroupWeights[] = [];
    const exactTop: GroupWeights[] = [];
    const ann: GroupWeights[] = [];
    for (const { text, x } of asked) {
      all.push(weightsOf(attributeWithIndex(exactIndex, model, text, top, { contributorScope: 'all' }).contributors));
      exactTop.push(weightsOf(attributeWithIndex(exactIndex, model, text, top).contributors));
      ann.push(weightsOf(index.attribute(model, x, top).contributors));
    }
    return lds(subsets, actual, {
      'exact TracIn, signed sum over every record (classifier)': signed,
      'exact TracIn, every proponent (classifier)': all,
      [`exact TracIn, top ${top} (classifier, served by small versions)`]: exactTop,
      [`attribution index, top ${top} (classifier, served by large versions)`]: ann,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The generation model's output on a query: log of the expected token F1 between its answer and
 * the full model's answer, the expectation over the ranker's softmax on the retrieved records.
 */
function answerLikelihood(model: RagModel, query: string, answer: string): number {
  const ranked = model.candidates(query);
  const top = ranked[0]?.score ?? 0;
  let total = 0;
  let expected = 0;
  for (const c of ranked) {
    const w = Math.exp((c.score - top) / model.options.temperature);
    total += w;
    expected += w * tokenF1(model.response(c.id), answer);
  }
  return Math.log(Math.max(1e-6, total > 0 ? expected / total : 0));
}

export function ldsOfGeneration(a: { top: number }): Rows {
  const docs: RagDocument[] = syntheticQa({ perTopic: 50, seed: 5 }).map((r, i) => ({
    hash: createHash('sha256').update(`qa-${i}`).digest('hex'),
    contributor: `c${i % GROUPS}`,
    prompt: r.question,
    response: r.answer,
  }));
  const queries = [...new Set(syntheticQa({ perTopic: 12, seed: 77 }).map((r) => r.question))].slice(0, QUERIES);
  const model = new RagModel(docs);
  const spans = new SpanIndexBuilder();
  for (const d of docs) spans.add(d, [d.prompt, d.response]);
  const spanIndex = SpanIndex.fromFiles(spans.build());
  const answers = queries.map((q) => model.answer(q, a.top));
  const full = queries.map((q, i) => answerLikelihood(model, q, answers[i]!.text));
  const groups = [...new Set(docs.map((d) => d.contributor))];
  const subsets = halfSubsets(groups, SUBSETS, 2);
  const actual = subsets.map((S) => {
    const m = new RagModel(docs.filter((d) => !S.has(d.contributor)));
    return queries.map((q, i) => answerLikelihood(m, q, answers[i]!.text) - full[i]!);
  });
  return lds(subsets, actual, {
    [`retrieval, top ${a.top} (generation)`]: answers.map((ans) => weightsOf(ans.attribution.contributors)),
    [`span matching, top ${a.top} (generation; none where no span qualifies)`]: answers.map((ans) =>
      weightsOf(attributeSpans(spanIndex, [ans.text], a.top)?.attribution.contributors ?? []),
    ),
  });
}

export function printLds(rows: Rows): void {
  console.log('');
  console.log('| method | LDS (mean over queries) | 95% interval | queries it names a contributor for |');
  console.log('|---|---|---|---|');
  for (const [method, r] of Object.entries(rows))
    console.log(
      `| ${method} | ${r.mean.toFixed(3)} | ${r.lo.toFixed(3)} – ${r.hi.toFixed(3)} | ${(100 * r.named).toFixed(0)}% |`,
    );
  console.log('');
}
