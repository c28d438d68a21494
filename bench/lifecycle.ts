// `npm run bench:lifecycle`: one whole lifecycle at BENCH_RECORDS (default 1,000,000) synthetic
// contributions on the real local stack: governance, ingest, scoring, training, an RLHF round,
// promotion, then attributed inference load, in process and through the API (beside a bare Fastify
// route). Prints each phase's duration, the peak RSS of every process, the largest workflow history
// and the ratios. The API and each worker kind run in their own processes (so the peak RSS of the
// training worker is its own); this one is the participants
// and the load generator.
import { startBenchStack } from './support/stack.js';
import { freePort } from '../infra/local/ports.js';
import { startTsProcess } from '../infra/local/processes.js';
import { loadConfig } from '../infra/config.js';
import { SPAM_SPEC } from '../scenarios/scenario.js';
import { answerReviews } from '../scenarios/steps.js';
import { syntheticLabelOf, syntheticRecords } from '../scenarios/synthetic.js';
import { ProcessTreeRss } from './process-tree.js';
import { cpuLine, httpLoad, type LoadResult } from './support/http-load.js';
import { S3ArtifactStore } from '../storage/s3-store.js';
import { ModelCache } from '../api/inference/model-cache.js';
import { PredictorRegistry } from '../ml/serving/predictor.js';
import { workflowIds } from '../contracts/workflow-ids.js';
import type { ProposalResponse } from '../api/schemas/proposals.js';

const N = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const CONTRIBUTORS = Number(process.env.BENCH_CONTRIBUTORS ?? 100);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 6);
const EPOCHS = Number(process.env.BENCH_EPOCHS ?? 1);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const PIPELINING = Number(process.env.BENCH_PIPELINING ?? 1);
const BATCH = 1000;
const t0 = Date.now();
const log = (m: string) => console.log(`[bench:lifecycle ${((Date.now() - t0) / 1000).toFixed(0).padStart(5)}s] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rss = new ProcessTreeRss().start();
const bench = await startBenchStack({
  log,
  workers: ['lifecycle', 'data-collection', 'gpu-training', 'gpu-rlhf'],
});
const { env, base, sql, temporal, participant } = bench;
const barePort = await freePort();
const bare = await startTsProcess('bench/bare-server.ts', { ...env, PORT: String(barePort) }, /LISTENING/);

const dev = await participant(['developer'], { OPEN: '10000' });
const gov = await participant(['governor'], { gOPEN: '1000' });
const contributors = await Promise.all(Array.from({ length: CONTRIBUTORS }, () => participant(['contributor'])));
// Review weight is bonded stake: each reviewer bonds the protocol minimum and enlists once the
// proposal exists, or the round has nobody to assign and closes with no answers.
const reviewers = await Promise.all(
  [1, 2, 3].map(async () => {
    const r = await participant(['reviewer'], { OPEN: '5000' });
    await r.bondForReview('1000');
    return r;
  }),
);
const appBuilder = await participant(['app-builder'], { OPEN: '1000000000' });
await dev.faucet('OPEN', '100000', 'treasury');

const id = `bench-lifecycle-${Date.now().toString(36)}`;
const phases: { name: string; seconds: number; note?: string }[] = [];
let phaseStart = Date.now();
const endPhase = (name: string, note?: string) => {
  const seconds = (Date.now() - phaseStart) / 1000;
  phases.push({ name, seconds, note });
  log(`${name}: ${seconds.toFixed(1)} s${note ? ` (${note})` : ''}`);
  phaseStart = Date.now();
};

await dev.propose({
  id,
  modelName: id,
  title: 'Bench spam filter',
  description: 'Spam classifier for the lifecycle benchmark: email messages labelled spam or ham.',
  rationale: 'benchmark',
  domain: 'email spam',
  labels: ['spam', 'ham'],
  datanetSpec: SPAM_SPEC,
  params: {
    governance: { votingPeriodMs: 600_000 },
    collection: {
      windowMs: 12 * 3_600_000,
      targetCount: N,
      pollIntervalMs: 2000,
      batchSize: 2000,
      parallelism: 4,
      batchesPerRun: 40,
      minAcceptedRecords: 1,
      keywords: ['spam', 'email', 'offer', 'meeting', 'project'],
    },
    training: { hyperparams: { epochs: EPOCHS }, heartbeatTimeoutMs: 600_000 },
    rlhf: { rounds: 1, promptsPerRound: 8, answersPerItem: 3, roundDeadlineMs: 3_600_000 },
    serving: { feePerCall: '1' },
  },
});
for (;;) {
  const t = await dev.tally(id).catch(() => undefined);
  if (t?.open) break;
  await sleep(200);
}
await gov.vote(id, 'yes');
for (const r of reviewers) await r.enlistForReview(id);
while ((await dev.datanet(id).catch(() => undefined))?.status !== 'open') await sleep(300);
endPhase('governance');

// Ingest: signed batches of 1,000 from the contributors in turn, CONCURRENCY requests in flight.
// A line at each 10% of the run, so a rate that falls as the tables grow shows where it falls.
const gen = syntheticRecords(N);
let batchNo = 0;
let sent = 0;
let nextMark = 1;
const ingestStart = Date.now();
const marks: string[] = [];
async function sender() {
  for (;;) {
    const payloads: { text: string; label: string }[] = [];
    for (let i = 0; i < BATCH; i++) {
      const n = gen.next();
      if (n.done) break;
      payloads.push({ text: n.value.text, label: n.value.label });
    }
    if (payloads.length === 0) return;
    const c = contributors[batchNo++ % contributors.length]!;
    await c.contributeBatch(id, payloads);
    sent += payloads.length;
    while (sent >= (nextMark * N) / 10) {
      const line = `${nextMark * 10}%: ${Math.round(sent / ((Date.now() - ingestStart) / 1000))}/s`;
      marks.push(line);
      log(`ingest ${line}`);
      nextMark++;
    }
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, sender));
const [stored = { n: 0 }] = await sql<
  { n: number }[]
>`select count(*)::int as n from contributions where datanet_id = ${id}`;
const ingestSeconds = (Date.now() - phaseStart) / 1000;
endPhase('ingest', `${stored.n} stored of ${sent}, ${Math.round(stored.n / ingestSeconds)}/s`);

// Exact copies are refused at ingest, so the target is never reached: the proposer closes.
await dev.closeDatanet(id);
async function waitFor(done: (s: ProposalResponse) => boolean, onPoll?: (s: ProposalResponse) => Promise<void> | void) {
  for (;;) {
    const s = await dev.proposal(id);
    if (done(s)) return s;
    if (s.status !== 'running') throw new Error(`lifecycle ended in ${s.stage}: ${s.status} ${s.reason ?? ''}`);
    await onPoll?.(s);
    await sleep(1000);
  }
}
// A line at each 10% of the scoring and dedupe passes (of the seq range they walk).
const passMark = { phase: '', n: 1 };
await waitFor(
  (s) => s.stage !== 'data-collection',
  (s) => {
    const c = s.progress?.collection;
    if (!c || (c.phase !== 'scoring' && c.phase !== 'dedupe')) return;
    if (passMark.phase !== c.phase) Object.assign(passMark, { phase: c.phase, n: 1 });
    // Scoring counts records whose batch completed; dedupe only says how far it has dispatched.
    const span = c.phase === 'scoring' ? Math.max(1, c.received) : Math.max(1, c.maxSeq - c.firstSeq + 1);
    const done = c.phase === 'scoring' ? c.scored : c.cursor - c.firstSeq + 1;
    while (done >= (passMark.n * span) / 10) {
      log(`${c.phase} ${passMark.n * 10}%, ${Math.round((Date.now() - phaseStart) / 1000)} s after close`);
      passMark.n++;
    }
  },
);
const [accepted = { n: 0 }] = await sql<
  { n: number }[]
>`select count(*)::int as n from contributions where datanet_id = ${id} and status = 'accepted'`;
const scoringSeconds = (Date.now() - phaseStart) / 1000;
endPhase('scoring + dedupe + dataset', `${accepted.n} accepted, ${Math.round(stored.n / scoringSeconds)}/s`);

await waitFor((s) => s.stage !== 'training');
endPhase('training', `${EPOCHS} epoch(s) over ${accepted.n} records`);

// RLHF: honest reviewers answer each task with the label the synthetic record was made with.
const answers = await answerReviews(
  dev,
  id,
  reviewers,
  (_r, t) => {
    const truth = syntheticLabelOf(t.prompt);
    return t.candidates.includes(truth) ? truth : t.candidates[0];
  },
  1000,
);
endPhase('rlhf round', `${answers} answers`);

const final = await waitFor((s) => s.status !== 'running' || s.stage === 'serving');
if (final.status !== 'serving' && final.stage !== 'serving')
  throw new Error(`lifecycle ended ${final.status}: ${final.reason}`);
endPhase('promotion');

// Attributed inference. In process: the API's own model cache (artifact + manifest from S3, the
// attribution index built on first load), then predict + attribute in a loop on this one core.
const inputs = [...syntheticRecords(200, 7)].map((r) => r.text.slice(0, 500));
const store = S3ArtifactStore.fromConfig(loadConfig(env).s3);
const cache = new ModelCache(sql, store, { predictors: new PredictorRegistry() });
const { predictor } = await cache.production(id);
endPhase(
  'model load in process',
  `artifact and attribution (${predictor.attributionMode} over ${predictor.attributionRecords} records)`,
);
let calls = 0;
const loopStart = Date.now();
while (Date.now() - loopStart < SECONDS * 1000) {
  for (let i = 0; i < 10; i++, calls++) {
    await predictor.predict({ messages: [{ role: 'user', content: inputs[calls % inputs.length]! }], topK: 5 });
  }
}
const inProcess = calls / ((Date.now() - loopStart) / 1000);

const { apiKey } = await appBuilder.issueApiKey('bench');
const inferUrl = `${base}/v1/models/${id}/infer`;
// The API gets the same 200 inputs, in turn, as the loop in process.
const bodies = inputs.map((input) => JSON.stringify({ input }));
const body = bodies[0]!;
const auth = { authorization: `Bearer ${apiKey}` };
const warmStart = Date.now();
const warm = await fetch(inferUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body });
if (!warm.ok) throw new Error(`warm-up call failed: ${warm.status} ${await warm.text()}`);
log(`first API call (loads the version in the API process): ${((Date.now() - warmStart) / 1000).toFixed(1)} s`);
const load = (url: string, headers: Record<string, string>): Promise<LoadResult> =>
  httpLoad({ url, bodies, headers, connections: CONNECTIONS, seconds: SECONDS, pipelining: PIPELINING });
const bareRes = await load(`http://127.0.0.1:${barePort}/bare`, {});
const apiRes = await load(inferUrl, auth);
endPhase('inference load');

rss.stop();
let maxHistory = { events: 0, id: '' };
let runs = 0;
for await (const w of temporal.workflow.list({
  query: `ProposalId = "${id}" OR WorkflowId = "${workflowIds.model(id)}"`,
})) {
  runs++;
  if (w.historyLength > maxHistory.events) maxHistory = { events: w.historyLength, id: w.workflowId };
}

console.log('');
console.log(`records                      ${N} sent, ${stored.n} stored, ${accepted.n} accepted`);
for (const p of phases)
  console.log(`${p.name.padEnd(28)} ${p.seconds.toFixed(1).padStart(8)} s${p.note ? `   ${p.note}` : ''}`);
console.log(`ingest rate by progress      ${marks.join(', ')}`);
console.log(
  `largest workflow history     ${maxHistory.events} events (${maxHistory.id}) over ${runs} runs (limit 51,200)`,
);
console.log('peak RSS by process          largest single process / peak of the kind summed');
for (const r of rss.report())
  console.log(
    `  ${r.name.slice(0, 40).padEnd(40)} ${r.peakMiB.toFixed(0).padStart(6)} MiB / ${r.peakSumMiB.toFixed(0)} MiB`,
  );
console.log(`attributed calls/s in process ${inProcess.toFixed(0)} (one core, predict + attribute top 5)`);
console.log(
  `through the API              ${apiRes.rps.toFixed(0)} req/s (p50 ${apiRes.p50} ms, p99 ${apiRes.p99} ms, ${apiRes.non2xx} non-2xx, ${CONNECTIONS} connections, pipelining ${PIPELINING})`,
);
console.log(`  CPU µs per request          ${cpuLine(apiRes)}`);
console.log(`bare Fastify route           ${bareRes.rps.toFixed(0)} req/s (p50 ${bareRes.p50} ms)`);
console.log(`  CPU µs per request          ${cpuLine(bareRes)}`);
console.log(
  `ratios                       API / in process ${(apiRes.rps / inProcess).toFixed(2)}×, API / bare route ${(apiRes.rps / bareRes.rps).toFixed(3)}×`,
);

await temporal.workflow
  .getHandle(workflowIds.model(id))
  .terminate('bench done')
  .catch(() => undefined);
bare.kill('SIGTERM');
await bench.stop();
process.exit(0);
