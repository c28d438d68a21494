// `npm run bench:lifecycles`: on each Temporal server (BENCH_SERVERS, default `dev,server`: the dev
// server and the real server on Postgres, one stack each, figures side by side at the end),
// BENCH_LIFECYCLES (default 1,000) lifecycles at once on one worker set,
// the API and every worker in this process (as in the demo), or with BENCH_SPLIT=1 the API and each
// worker kind in its own process (as deployed), so reads and workflow tasks stop sharing one event
// loop, the first bottleneck after the read model. Each lifecycle goes through governance
// (one governor votes yes, closing the vote early) and a small collection (BENCH_RECORDS records,
// scored and deduplicated), then ends `failed-gate` ("not enough accepted data", stake refunded), so
// the run measures orchestration, not training. Prints: lifecycles started/s; status reads/s with
// every lifecycle in flight (the read model) beside a sample of live reads (?live=1, a workflow
// query each); p50/p99 stage-transition latency; process RSS per lifecycle in flight. Beside them,
// BENCH_HELD (default 10,000) more lifecycles are started and held in governance (never voted on),
// so the reads and the votes run with N + BENCH_HELD in flight; votes go half at 10 and half at 100
// requests in flight. Where the time goes: each phase's worker figures (task latencies, slots,
// pollers, sticky cache) and the server's matching figures (normal partitions and sticky queue
// apart), each vote's steps from its lifecycle's history (bench/support/vote-steps.ts), persistence
// latency (the server's metrics), CPU and RSS of the server and of Postgres (/proc).
import postgres from 'postgres';
import { Client, Connection } from '@temporalio/client';
import { temporalConnectionOptions } from '../infra/temporal-connection.js';
import { collectVoteSteps, describeVoteSteps, voteStepsFigure, type VoteSteps } from './support/vote-steps.js';
import { workflowIds } from '../contracts/workflow-ids.js';
import { describeMatching, scrapeMatching } from './support/matching-profile.js';
import { startSystem } from '../infra/local/system.js';
import { freePort } from '../infra/local/ports.js';
import { generateKeyPair } from '../identity/keys.js';
import { CommonsClient } from '../client/commons-client.js';
import { SPAM_SPEC, EMAIL_KEYWORDS } from '../scenarios/scenario.js';
import { loadSpamAssassin } from '../ml/embedded/corpus.js';
import { workflowReads } from '../api/workflow-reads.js';
import { mapLimit } from '../storage/map-limit.js';
import { Worker } from 'node:worker_threads';
import { read, treeCpuSeconds } from './process-tree.js';
import { startBenchStack } from './support/stack.js';
import { sideBySide, type Figures } from './support/side-by-side.js';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ProcessTreeRss } from './process-tree.js';

const RESULT_FILE = process.env.BENCH_RESULT_FILE;
if (!RESULT_FILE) {
  await sideBySide(
    fileURLToPath(import.meta.url),
    (process.env.BENCH_SERVERS ?? 'dev,server').split(',').map((x) => x.trim()),
    (m) => console.log(`[bench:lifecycles] ${m}`),
  );
  process.exit(0);
}

const N = Number(process.env.BENCH_LIFECYCLES ?? 1000);
const HELD = Number(process.env.BENCH_HELD ?? 10_000);
const C = Number(process.env.BENCH_CONCURRENCY ?? 10);
/** Requests in flight for the second half of the votes (the first half: BENCH_CONCURRENCY). */
const C_HIGH = Number(process.env.BENCH_VOTE_CONCURRENCY_HIGH ?? 100);
const SERVER = process.env.COMMONS_TEMPORAL ?? 'dev';
const RECORDS = Number(process.env.BENCH_RECORDS ?? 3);
/**
 * How often each open Datanet counts its contributions (one activity and two workflow tasks per
 * poll, on the lifecycle workers). The protocol default, 60 s: at 1 s, N windows make N polls a
 * second, and the votes of the lifecycles still in governance wait behind them.
 */
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 60_000);
const READ_SECONDS = Number(process.env.BENCH_READ_SECONDS ?? 15);
const READ_CONCURRENCY = Number(process.env.BENCH_READ_CONCURRENCY ?? 20);
const LIVE_READS = Number(process.env.BENCH_LIVE_READS ?? 200);
/** 0: stop after the status reads (start N, read with N in flight), without driving them to their end. */
const DRIVE = process.env.BENCH_DRIVE !== '0';
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 1800) * 1000;
const t0 = Date.now();
const log = (m: string) =>
  console.log(`[bench:lifecycles ${SERVER} ${((Date.now() - t0) / 1000).toFixed(0).padStart(5)}s] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (b: number) => b / 1024 / 1024;

/** BENCH_SPLIT=1: the API and each worker kind in its own process (as deployed). */
const SPLIT = process.env.BENCH_SPLIT === '1';
const BENCH_ENV = {
  COMMONS_LOG_LEVEL: process.env.COMMONS_LOG_LEVEL ?? 'ERROR',
  COMMONS_CONTRIBUTION_RATE: '1000000000',
  COMMONS_CONTRIBUTION_BURST: '1000000000',
};
// The workers' own metrics (task latencies, slots, sticky cache) are read between phases: the profile.
const metricsPort = await freePort();
process.env.COMMONS_WORKER_METRICS_ADDRESS ??= `127.0.0.1:${metricsPort}`;
// Workflow-task pollers (SDK default: 10, of which 2 poll the normal queue, where every new
// workflow's first task waits; 8 poll the sticky queue). BENCH_WF_POLLS=autoscaling lets the SDK
// scale them on the server's hints. Only in the one-process mode: separate worker processes run
// with the SDK defaults.
const WF_POLLS = process.env.BENCH_WF_POLLS;
const pollers =
  WF_POLLS && !SPLIT
    ? WF_POLLS === 'autoscaling'
      ? { workflowTaskPollerBehavior: { type: 'autoscaling' as const } }
      : {
          maxConcurrentWorkflowTaskPolls: Number(WF_POLLS),
          nonStickyToStickyPollRatio: Number(process.env.BENCH_NONSTICKY_RATIO ?? 0.2),
        }
    : {};

/** What the phases below need of the system under test, in either mode. */
interface System {
  url: string;
  sql: postgres.Sql;
  /** RSS of the API and the workers (bytes). */
  rss(): number;
  /** Workflow queries and describes the API has sent so far. */
  workflowReads(): Promise<{ query: number; describe: number }>;
  /** The Temporal server's Prometheus endpoint. */
  temporalMetricsUrl?: string;
  /** A Temporal client of the bench's own: it reads the voted lifecycles' histories. */
  temporal: Client;
  stop(): Promise<void>;
}

async function oneProcess(): Promise<System> {
  const sys = await startSystem({
    log,
    env: BENCH_ENV,
    workerOptions: pollers,
    apiLogger: false,
    removeState: process.env.BENCH_KEEP_STATE !== '1',
  });
  const sql = postgres(sys.cfg.databaseUrl, { max: 2, onnotice: () => {} });
  const connection = await Connection.connect(temporalConnectionOptions(sys.cfg.temporal));
  return {
    url: sys.apiUrl,
    sql,
    rss: () => process.memoryUsage().rss,
    workflowReads: () => Promise.resolve({ ...workflowReads }),
    temporalMetricsUrl: sys.stack?.temporalProcess?.metricsUrl,
    temporal: new Client({ connection, namespace: sys.cfg.temporal.namespace }),
    async stop() {
      await connection.close();
      await sql.end();
      await sys.stop();
    },
  };
}

async function separateProcesses(): Promise<System> {
  const b = await startBenchStack({
    log,
    workers: ['lifecycle', 'data-collection', 'gpu-training', 'gpu-rlhf'],
    env: BENCH_ENV,
    workerEnv: {
      lifecycle: { COMMONS_WORKER_METRICS_ADDRESS: process.env.COMMONS_WORKER_METRICS_ADDRESS! },
      'data-collection': { COMMONS_WORKER_METRICS_ADDRESS: '' },
      'gpu-training': { COMMONS_WORKER_METRICS_ADDRESS: '' },
      'gpu-rlhf': { COMMONS_WORKER_METRICS_ADDRESS: '' },
    },
  });
  const pids = [b.apiPid, ...b.workerPids];
  return {
    url: b.base,
    sql: b.sql,
    rss: () =>
      pids.reduce(
        (sum, pid) => sum + Number(/VmRSS:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`) ?? '')?.[1] ?? 0) * 1024,
        0,
      ),
    async workflowReads() {
      const text = await (await fetch(`${b.base}/metrics`)).text();
      const n = (kind: string) =>
        Number(new RegExp(`commons_api_workflow_reads_total\\{kind="${kind}"\\} (\\d+)`).exec(text)?.[1] ?? NaN);
      return { query: n('query'), describe: n('describe') };
    },
    temporalMetricsUrl: b.system.stack?.temporalProcess?.metricsUrl,
    temporal: b.temporal,
    stop: () => b.stop(),
  };
}

const system = SPLIT ? await separateProcesses() : await oneProcess();
const sql = system.sql;
log(
  `stack, workers and API up (${system.url}, ${SPLIT ? 'each in its own process' : 'all in this process'}); uptime load ${(await loadAverage()).join(' ')}`,
);

process.on('uncaughtException', (err) => {
  console.error(err);
  void system.stop().finally(() => process.exit(1));
});
process.on('unhandledRejection', (err) => {
  console.error(err);
  void system.stop().finally(() => process.exit(1));
});

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, system.rss())), 500);
// Peak RSS of the Temporal server (and UI server) and of Postgres: the stack's processes are children of this one.
const treeRss = new ProcessTreeRss().start();
const cpuAtStart = treeCpuSeconds();
const runStart = Date.now();

async function participant(roles: string[], funds: { OPEN?: string; gOPEN?: string } = {}) {
  const c = new CommonsClient(system.url, generateKeyPair());
  await c.register(roles);
  if (funds.OPEN) await c.faucet('OPEN', funds.OPEN);
  if (funds.gOPEN) await c.faucet('gOPEN', funds.gOPEN);
  return c;
}
const dev = await participant(['developer'], { OPEN: String(100 * (N + HELD) + 1000) });
const gov = await participant(['governor'], { gOPEN: '1000' });
const contributor = await participant(['contributor']);
const records = loadSpamAssassin({ limit: RECORDS, seed: 5 }).map((r) => ({ text: r.text, label: r.label }));
const run = Date.now().toString(36);
const ids = Array.from({ length: N }, (_, i) => `bl-${run}-${i}`);
/** Started and left in governance: in flight for the reads and the votes, never driven. */
const heldIds = Array.from({ length: HELD }, (_, i) => `bl-${run}-held-${i}`);
const inFlightIds = [...ids, ...heldIds];

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms (n=${xs.length})`;

/** Waits until `count()` reaches `target`, logging progress; fails the bench after the timeout. */
async function until(what: string, count: () => Promise<number>, target: number) {
  const start = Date.now();
  let last = -1;
  for (;;) {
    const n = await count();
    if (n !== last && (n === target || Date.now() - start > 5000)) log(`${what}: ${n}/${target}`);
    last = n;
    if (n >= target) return Date.now() - start;
    if (Date.now() - start > TIMEOUT_MS) throw new Error(`${what}: only ${n}/${target} after ${TIMEOUT_MS / 1000} s`);
    await sleep(500);
  }
}
const countWhere = async (q: (ids: string[]) => Promise<{ n: number }[]>) => (await q(ids))[0]?.n ?? 0;

/** The worker's metrics at one moment: latency histograms (sum and count per metric and queue) and gauges. */
interface WorkerScrape {
  sums: Map<string, { sum: number; count: number }>;
  gauges: string[];
}
async function scrapeWorker(): Promise<WorkerScrape> {
  const text = await fetch(`http://${process.env.COMMONS_WORKER_METRICS_ADDRESS}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const sums = new Map<string, { sum: number; count: number }>();
  const gauges: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^temporal_(\w+?)_(sum|count)\{([^}]*)\} ([\d.e+-]+)/.exec(line);
    if (m) {
      const queue = /task_queue="([^"]+)"/.exec(m[3]!)?.[1] ?? '';
      if (queue.includes('sticky') || !/latency/.test(m[1]!)) continue;
      const key = `${m[1]}[${queue}]`;
      const e = sums.get(key) ?? { sum: 0, count: 0 };
      if (m[2] === 'sum') e.sum += Number(m[4]);
      else e.count += Number(m[4]);
      sums.set(key, e);
    }
    const g =
      /^temporal_(sticky_cache_size|sticky_cache_hit(?:_total)?|sticky_cache_miss(?:_total)?|worker_task_slots_available|worker_task_slots_used|num_pollers)\{([^}]*)\} ([\d.e+-]+)/.exec(
        line,
      );
    if (g) {
      const queue = /task_queue="([^"]+)"/.exec(g[2]!)?.[1] ?? '';
      const type = /worker_type="([^"]+)"/.exec(g[2]!)?.[1] ?? '';
      const poller = /poller_type="([^"]+)"/.exec(g[2]!)?.[1] ?? '';
      if (queue === 'lifecycle' || g[1]!.startsWith('sticky_cache'))
        gauges.push(`${g[1]}[${queue}${type ? ' ' + type : ''}${poller ? ' ' + poller : ''}]=${g[3]}`);
    }
  }
  return { sums, gauges };
}

/**
 * Mean of each worker latency histogram (per task queue) since `since` (a phase's own figures, not
 * the whole run's), beside the gauges now: slots, pollers, sticky cache.
 */
async function workerProfile(since?: WorkerScrape): Promise<string> {
  const now = await scrapeWorker();
  const out = [...now.gauges];
  for (const [k, v] of now.sums) {
    const before = since?.sums.get(k) ?? { sum: 0, count: 0 };
    const count = v.count - before.count;
    if (count > 0)
      out.push(
        `${k} mean ${(((v.sum - before.sum) / count) * (k.includes('seconds') ? 1000 : 1)).toFixed(1)} (n=${count})`,
      );
  }
  return out.sort().join('\n    ');
}

// 1. Start N lifecycles through the API, then the BENCH_HELD ones that stay in governance.
const rssBefore = system.rss();
const startLatency: number[] = [];
const propose = async (id: string) => {
  const s = Date.now();
  await dev.propose({
    id,
    modelName: `m-${id}`,
    title: 'Bench lifecycle',
    description: 'A spam filter proposed by the many-lifecycles benchmark.',
    rationale: 'benchmark',
    domain: 'email spam',
    labels: ['spam', 'ham'],
    datanetSpec: SPAM_SPEC,
    params: {
      stake: '100',
      // The longest vote the protocol allows (1 h on the local stack): the one yes vote closes it early.
      governance: { votingPeriodMs: 3_600_000 },
      collection: {
        windowMs: 6 * 3_600_000,
        targetCount: RECORDS,
        pollIntervalMs: POLL_MS,
        batchSize: 100,
        minAcceptedRecords: 1_000_000,
        keywords: EMAIL_KEYWORDS,
      },
    },
  });
  startLatency.push(Date.now() - s);
};
const startAt = Date.now();
await mapLimit(ids, C, propose);
const startSeconds = (Date.now() - startAt) / 1000;
log(
  `started ${N} lifecycles in ${startSeconds.toFixed(1)} s: ${(N / startSeconds).toFixed(1)}/s (propose ${fmt(startLatency)})`,
);
const heldAt = Date.now();
await mapLimit(heldIds, C, propose);
const heldSeconds = (Date.now() - heldAt) / 1000;
if (HELD)
  log(`started ${HELD} more, held in governance, in ${heldSeconds.toFixed(1)} s: ${(HELD / heldSeconds).toFixed(1)}/s`);
const startsPerSecond = (N + HELD) / (startSeconds + heldSeconds);
const votingOpen = async () =>
  (
    await sql<
      { n: number }[]
    >`select count(*)::int as n from governance_snapshots where proposal_id in ${sql(inFlightIds)}`
  )[0]?.n ?? 0;
// Driving them needs every vote open; the reads alone only need them started (in flight).
const openMs = DRIVE || process.env.BENCH_WAIT_OPEN === '1' ? await until('voting open', votingOpen, N + HELD) : NaN;
if (!DRIVE) log(`voting open in ${await votingOpen()} of ${N + HELD} so far`);
await sleep(2000);
const rssInFlight = system.rss();
log(`worker profile after the starts:\n    ${await workerProfile()}`);
const matching = () => scrapeMatching(system.temporalMetricsUrl, 'lifecycle');
log(`matching on the lifecycle queues after the starts:\n    ${describeMatching(await matching()).join('\n    ')}`);

// 2. Status reads with every lifecycle in flight: the read model, then a sample of live reads. The
// readers run in a worker thread, as outside clients: their own HTTP work is not on the event loop
// the API and the workers share (it still shares the machine's cores).
const READER = `
const { parentPort, workerData } = require('node:worker_threads');
const { base, suffix, ids, seconds, count, concurrency } = workerData;
(async () => {
  const lat = [];
  let errors = 0, notFound = 0, left = count ?? Infinity;
  const end = Date.now() + (seconds ?? 1e9) * 1000;
  const start = Date.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end && left-- > 0) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      const s = performance.now();
      const r = await fetch(base + '/v1/proposals/' + id + suffix);
      await r.arrayBuffer();
      if (r.ok) lat.push(performance.now() - s);
      else if (r.status === 404) notFound++;
      else errors++;
    }
  }));
  parentPort.postMessage({ lat, errors, notFound, seconds: (Date.now() - start) / 1000 });
})();`;
/** Reads `/v1/proposals/<random id><suffix>` from a worker thread. */
async function readLoad(suffix: string, opts: { seconds?: number; count?: number; concurrency: number }) {
  const cpu0 = process.cpuUsage();
  const tree0 = treeCpuSeconds();
  const elu0 = performance.eventLoopUtilization();
  const worker = new Worker(READER, {
    eval: true,
    workerData: { base: system.url, suffix, ids: inFlightIds, ...opts },
  });
  const r = await new Promise<{ lat: number[]; errors: number; notFound: number; seconds: number }>((ok, fail) => {
    worker.once('message', ok);
    worker.once('error', fail);
  });
  await worker.terminate();
  const cpu = process.cpuUsage(cpu0);
  // This process's CPU (API, workers and the reader thread) and its main event loop's busy share.
  const cpuPct = ((cpu.user + cpu.system) / 1e6 / r.seconds) * 100;
  const elu = performance.eventLoopUtilization(elu0).utilization * 100;
  // Where the machine's CPU went meanwhile: Postgres (all backends), the Temporal server, this process.
  const tree1 = treeCpuSeconds();
  const split = [...tree1]
    .map(([k, v]) => [k, ((v - (tree0.get(k) ?? 0)) / r.seconds) * 100] as const)
    .filter(([, pct]) => pct >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([k, pct]) => `${k.split('/').pop()} ${pct.toFixed(0)}%`)
    .join(', ');
  return {
    split,
    reads: r.lat.length,
    errors: r.errors,
    notFound: r.notFound,
    perSecond: r.lat.length / r.seconds,
    lat: r.lat,
    cpuPct,
    elu,
  };
}
const cpuNote = (x: { cpuPct: number; elu: number; split: string }) =>
  `${SPLIT ? 'bench process (readers)' : 'process (API, workers, readers)'} CPU ${x.cpuPct.toFixed(0)}% of a core, main event loop busy ${x.elu.toFixed(0)}%; CPU by process (% of a core): ${x.split}`;
const q0 = await system.workflowReads();
const reads = await readLoad('', { seconds: READ_SECONDS, concurrency: READ_CONCURRENCY });
const q1 = await system.workflowReads();
log(
  `status reads (read model), ${N + HELD} lifecycles in flight, ${READ_CONCURRENCY} requests in flight: ${reads.perSecond.toFixed(0)}/s, ${fmt(reads.lat)}, ${reads.errors} errors; workflow queries ${q1.query - q0.query}, describes ${q1.describe - q0.describe}; ${cpuNote(reads)}`,
);
const tallies = await readLoad('/tally', { seconds: 5, concurrency: READ_CONCURRENCY });
log(
  `tally reads (read model): ${tallies.perSecond.toFixed(0)}/s, ${fmt(tallies.lat)}, ${tallies.errors} errors, ${tallies.notFound} not open yet (404); ${cpuNote(tallies)}`,
);
const liveReads = await readLoad('?live=1', { count: LIVE_READS, concurrency: 10 });
log(
  `status reads (?live=1, workflow query + describe), 10 in flight: ${liveReads.perSecond.toFixed(1)}/s, ${fmt(liveReads.lat)}, ${liveReads.errors} errors`,
);

if (!DRIVE) {
  log(`worker profile:\n    ${await workerProfile()}`);
  console.log(
    [
      '',
      `bench:lifecycles (BENCH_DRIVE=0) — ${N} lifecycles, ${C} requests in flight, workflow pollers ${JSON.stringify(pollers)}; load ${(await loadAverage()).join(' ')}`,
      `  started:            ${(N / startSeconds).toFixed(1)} lifecycles/s (propose ${fmt(startLatency)}); all voting open after ${(openMs / 1000).toFixed(1)} s`,
      `  status reads:       ${reads.perSecond.toFixed(0)}/s (${fmt(reads.lat)}) with ${N} in flight; workflow queries during them: ${q1.query - q0.query}; ${cpuNote(reads)}`,
      `  tally reads:        ${tallies.perSecond.toFixed(0)}/s (${fmt(tallies.lat)})`,
      `  live reads (?live): ${liveReads.perSecond.toFixed(1)}/s (${fmt(liveReads.lat)})`,
      `  RSS: ${mib(rssBefore).toFixed(0)} MiB before, ${mib(rssInFlight).toFixed(0)} MiB with ${N} in governance (${((rssInFlight - rssBefore) / N / 1024).toFixed(1)} KiB per lifecycle), peak ${mib(peakRss).toFixed(0)} MiB`,
    ].join('\n'),
  );
  const figures: Figures = [
    ['lifecycles started (BENCH_DRIVE=0)', `${N + HELD}`],
    ['starts/s', startsPerSecond.toFixed(1)],
    [
      `status reads/s, ${N + HELD} in flight`,
      `${reads.perSecond.toFixed(0)} (p99 ${pct(reads.lat, 99).toFixed(0)} ms)`,
    ],
    ...(await serverSide()),
  ];
  writeFileSync(RESULT_FILE, JSON.stringify(figures));
  await shutdown();
}

// 3. Governance → data collection: one yes vote each closes the vote early; the first half with
// BENCH_CONCURRENCY requests in flight, the second with BENCH_VOTE_CONCURRENCY_HIGH.
const voteAck = new Map<string, number>();
const voteLatency: number[] = [];
const votes: Record<number, { lat: number[]; perSecond: number; sent: { id: string; sentAt: number }[] }> = {};
const beforeVotes = await scrapeWorker();
const matchingBeforeVotes = await matching();
for (const [concurrency, batch] of [
  [C, ids.slice(0, Math.ceil(N / 2))],
  [C_HIGH, ids.slice(Math.ceil(N / 2))],
] as const) {
  const lat: number[] = [];
  const sent: { id: string; sentAt: number }[] = [];
  const voteStart = Date.now();
  await mapLimit(batch, concurrency, async (id) => {
    const s = Date.now();
    await gov.vote(id, 'yes');
    voteAck.set(id, Date.now());
    lat.push(Date.now() - s);
    sent.push({ id, sentAt: s });
  });
  const perSecond = batch.length / ((Date.now() - voteStart) / 1000);
  votes[concurrency] = { lat, perSecond, sent };
  voteLatency.push(...lat);
  log(`${batch.length} votes, ${concurrency} in flight: ${perSecond.toFixed(1)}/s (vote ${fmt(lat)})`);
}
log(`worker profile during the votes:\n    ${await workerProfile(beforeVotes)}`);
log(
  `matching on the lifecycle queues during the votes:\n    ${describeMatching(await matching(), matchingBeforeVotes).join('\n    ')}`,
);
const afterVotes = await scrapeWorker();
await until(
  'Datanets open',
  () => countWhere((x) => sql`select count(*)::int as n from datanets where id in ${sql(x)}`),
  N,
);

// 4. A small collection each; the lifecycle then ends failed-gate (not enough data, stake refunded).
const contribAck = new Map<string, number>();
const contribStart = Date.now();
await mapLimit(ids, C, async (id) => {
  await contributor.contributeBatch(id, records);
  // The proposer closes the window once the records are in (a signal: the window does not wait for its next poll).
  await dev.closeDatanet(id).catch((err: { status?: number }) => {
    if (err.status !== 409) throw err; // 409: a poll saw the target and closed it first
  });
  contribAck.set(id, Date.now());
});
log(`${N} contribution batches in ${((Date.now() - contribStart) / 1000).toFixed(1)} s`);
await until(
  'lifecycles ended',
  () => countWhere((x) => sql`select count(*)::int as n from proposals where id in ${sql(x)} and status <> 'running'`),
  N,
);

// Stage-transition latencies from the read model: the workflow's own stage entry times.
const rows = await sql<
  { id: string; view: { history: { stage: string; at: number }[] }; status: string; updated: Date }[]
>`
  select p.id, v.view, p.status, p.updated_at as updated from proposals p join lifecycle_views v on v.proposal_id = p.id where p.id in ${sql(ids)}`;
const toGovernance: number[] = [];
const voteToCollection: number[] = [];
const contribToEnd: number[] = [];
const statuses: Record<string, number> = {};
for (const r of rows) {
  statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const at = (s: string) => r.view.history.find((h) => h.stage === s)?.at;
  const p = at('proposed');
  const g = at('governance');
  const d = at('data-collection');
  if (p !== undefined && g !== undefined) toGovernance.push(g - p);
  if (d !== undefined && voteAck.has(r.id)) voteToCollection.push(d - voteAck.get(r.id)!);
  if (contribAck.has(r.id)) contribToEnd.push(r.updated.getTime() - contribAck.get(r.id)!);
}
clearInterval(rssTimer);
log(`worker profile after the votes (collections and endings):\n    ${await workerProfile(afterVotes)}`);
// Where each vote's time went, step by step, from the voted lifecycles' histories.
const voteStepsBy: Record<string, VoteSteps[]> = {};
for (const [c, v] of Object.entries(votes)) {
  voteStepsBy[c] = await collectVoteSteps(
    system.temporal,
    v.sent.map((x) => ({ workflowId: workflowIds.lifecycle(x.id), sentAt: x.sentAt, answeredAt: voteAck.get(x.id)! })),
  );
  log(`a vote's steps, ${c} in flight (server clock):\n    ${describeVoteSteps(voteStepsBy[c], pct).join('\n    ')}`);
}
const perLifecycle = (rssInFlight - rssBefore) / (N + HELD);
console.log(
  [
    '',
    `bench:lifecycles — ${N} lifecycles, ${C} requests in flight, ${RECORDS} records each, Datanet poll ${POLL_MS} ms; load ${(await loadAverage()).join(' ')}`,
    `  started:            ${(N / startSeconds).toFixed(1)} lifecycles/s (propose ${fmt(startLatency)}); all voting open after ${(openMs / 1000).toFixed(1)} s`,
    `  status reads:       ${reads.perSecond.toFixed(0)}/s (${fmt(reads.lat)}) with ${N} in flight; workflow queries during them: ${q1.query - q0.query}; ${cpuNote(reads)}`,
    `  tally reads:        ${tallies.perSecond.toFixed(0)}/s (${fmt(tallies.lat)})`,
    `  live reads (?live): ${liveReads.perSecond.toFixed(1)}/s (${fmt(liveReads.lat)})`,
    `  proposed→governance (workflow):       ${fmt(toGovernance)}`,
    ...Object.entries(votes).map(
      ([c, v]) =>
        `  votes, ${c.padStart(3)} in flight:                ${fmt(v.lat)} (request to answer), ${v.perSecond.toFixed(1)}/s`,
    ),
    `  vote → data-collection:               ${fmt(voteToCollection)}`,
    `  contributions + close → ended:        ${fmt(contribToEnd)}`,
    `  endings: ${JSON.stringify(statuses)}`,
    `  RSS: ${mib(rssBefore).toFixed(0)} MiB before, ${mib(rssInFlight).toFixed(0)} MiB with ${N + HELD} in governance (${(perLifecycle / 1024).toFixed(1)} KiB per lifecycle), peak ${mib(peakRss).toFixed(0)} MiB`,
  ].join('\n'),
);

const p99 = (xs: number[]) => `${pct(xs, 99).toFixed(0)} ms`;
const p50 = (xs: number[]) => `${pct(xs, 50).toFixed(0)} ms`;
const figures: Figures = [
  ['lifecycles driven / held in governance', `${N} / ${HELD}`],
  ['starts/s', startsPerSecond.toFixed(1)],
  [`status reads/s, ${N + HELD} in flight`, `${reads.perSecond.toFixed(0)} (p99 ${p99(reads.lat)})`],
  ...Object.entries(votes).flatMap(([c, v]): Figures => [
    [`vote p50 / p99, ${c} in flight`, `${p50(v.lat)} / ${p99(v.lat)}`],
    [`votes/s, ${c} in flight`, v.perSecond.toFixed(1)],
  ]),
  ...Object.entries(voteStepsBy).map(([c, steps]): [string, string] => [
    `vote steps p50 (ms), ${c} in flight`,
    voteStepsFigure(steps, pct),
  ]),
  ['proposed→governance p99', p99(toGovernance)],
  ['vote→data-collection p99', p99(voteToCollection)],
  ['contributions + close→ended p99', p99(contribToEnd)],
  [
    'endings',
    Object.entries(statuses)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  ],
  ...(await serverSide()),
  [`API + workers RSS peak (${SPLIT ? 'their processes' : 'this process'})`, `${mib(peakRss).toFixed(0)} MiB`],
  ['load average at the end', (await loadAverage()).join(' ')],
];
writeFileSync(RESULT_FILE, JSON.stringify(figures));

await shutdown();

/** The server's side of the run: its RSS and CPU, Postgres's CPU, and the persistence operations that took the most time. */
async function serverSide(): Promise<Figures> {
  treeRss.stop();
  const seconds = (Date.now() - runStart) / 1000;
  const cpu = treeCpuSeconds();
  const cpuPct = (match: (k: string) => boolean) =>
    ([...cpu].filter(([k]) => match(k)).reduce((sum, [k, v]) => sum + (v - (cpuAtStart.get(k) ?? 0)), 0) / seconds) *
    100;
  const isTemporal = (k: string) => /^temporal/.test(k);
  const rss = treeRss.report();
  const temporalRss = rss.filter((r) => isTemporal(r.name)).reduce((sum, r) => sum + r.peakSumMiB, 0);
  // The largest backend: summing them counts the shared buffers once per backend that touched them.
  const postgresRss = rss.find((r) => r.name === 'postgres')?.peakMiB ?? 0;
  const out: Figures = [
    ['Temporal server RSS peak (+ UI server)', `${temporalRss.toFixed(0)} MiB`],
    ['Temporal server CPU, mean over the run', `${cpuPct(isTemporal).toFixed(0)}% of a core`],
    ['Postgres CPU, mean over the run', `${cpuPct((k) => k === 'postgres').toFixed(0)}% of a core`],
    ['Postgres RSS peak (largest process)', `${postgresRss.toFixed(0)} MiB`],
  ];
  // Persistence latency by operation, from the server's own histograms (seconds): the top three by total time.
  const text = system.temporalMetricsUrl
    ? await fetch(system.temporalMetricsUrl)
        .then((r) => r.text())
        .catch(() => '')
    : '';
  const ops = new Map<string, { sum: number; count: number }>();
  for (const line of text.split('\n')) {
    const m = /^persistence_latency_(sum|count)\{([^}]*)\} ([\d.e+-]+)/.exec(line);
    if (!m) continue;
    const op = /operation="([^"]+)"/.exec(m[2]!)?.[1] ?? '?';
    const e = ops.get(op) ?? { sum: 0, count: 0 };
    if (m[1] === 'sum') e.sum += Number(m[3]);
    else e.count += Number(m[3]);
    ops.set(op, e);
  }
  const top = [...ops]
    .filter(([, v]) => v.count > 0)
    .sort((a, b) => b[1].sum - a[1].sum)
    .slice(0, 3)
    .map(([op, v]) => `${op} ${((v.sum / v.count) * 1000).toFixed(1)} ms × ${v.count}`);
  out.push(['persistence: top operations by time (mean × count)', top.join('; ') || 'no persistence metrics']);
  return out;
}

async function shutdown(): Promise<never> {
  clearInterval(rssTimer);
  await system.stop();
  process.exit(0);
}

async function loadAverage(): Promise<string[]> {
  const { loadavg } = await import('node:os');
  return loadavg().map((x) => x.toFixed(1));
}
