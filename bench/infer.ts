// `npm run bench:infer`: autocannon against POST /v1/models/:name/infer and, in the same run,
// against a bare Fastify route on the same machine; prints req/s, p50/p99 latency and the ratios.
// The API and the bare server run as separate processes; the load generator is this process, on
// the same cores, so each load prints the CPU every process spent per request. Both loads and the
// compute loop cycle through the same 200 inputs. Also measured in this process, same run: the
// route's own compute limit (predict + attribute on one core, as the API's one JS thread does it),
// in CPU time, so a busy machine does not lower it.
// BENCH_ATTRIBUTION=ann (default) serves the deployed version from its ANN attribution index;
// =exact from postings rebuilt from the manifest. BENCH_TRACING=1 starts Jaeger with the stack and
// every part exports its spans there (the cost of tracing on the paid path).
// Then where the API's CPU goes: a second, shorter infer load (BENCH_PROFILE_SECONDS, 5) against
// a fresh API process run under the V8 profiler (node --cpu-prof), its samples charged to the parts
// of a paid call (bench/support/cpu-breakdown.ts). It is a separate load so the profiler's own cost
// stays out of the ratios; BENCH_API_CPU_PROF=DIR keeps the profile there (a temporary dir otherwise).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTsProcess } from '../infra/local/processes.js';
import { cpuLine, httpLoad } from './support/http-load.js';
import { breakdownLines, COMPUTE_PARTS, cpuBreakdown } from './support/cpu-breakdown.js';
import { startSystem } from '../infra/local/system.js';
import { freePort } from '../infra/local/ports.js';
import { runScenario } from '../scenarios/scenario.js';
import { loadSpamAssassin } from '../ml/embedded/corpus.js';
import { ModelCache } from '../api/inference/model-cache.js';
import { PredictorRegistry } from '../ml/serving/predictor.js';
import { S3ArtifactStore } from '../storage/s3-store.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 15);
const PROFILE_SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 5);
const PROFILE_DIR = process.env.BENCH_API_CPU_PROF ?? mkdtempSync(join(tmpdir(), 'commons-bench-infer-prof-'));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const PIPELINING = Number(process.env.BENCH_PIPELINING ?? 1);
const MODE = process.env.BENCH_ATTRIBUTION === 'exact' ? 'exact' : 'ann';
const EXACT_MAX = MODE === 'ann' ? '0' : '1000000000';
const log = (m: string) => console.log(`[bench:infer] ${m}`);

// The services for the whole run; the workers and an API in this process only to deploy the model.
const services = await startSystem({
  log,
  workers: false,
  api: false,
  env: { COMMONS_LOG_LEVEL: 'error' },
  removeState: process.env.BENCH_KEEP_STATE !== '1',
  tracing: process.env.BENCH_TRACING === '1',
});
if (services.stack?.tracesUiUrl) log(`tracing on: spans to Jaeger, ${services.stack.tracesUiUrl}`);
const setup = await startSystem({ stack: false, apiLogger: false });
const setupCfg = setup.cfg;
log('deploying a model through one full lifecycle (SpamAssassin, 1200 records)…');
const run = Date.now().toString(36);
const r = await runScenario({
  baseUrl: setup.apiUrl,
  log: (l) => log(l),
  proposalId: `bench-${run}`,
  modelName: `bench-${run}`,
  records: 1200,
  contributors: 4,
  params: {
    collection: { batchSize: 300 },
    serving: { feePerCall: '100' },
  },
});
await r.appBuilder.faucet('OPEN', '100000000');
await setup.stop();

const barePort = await freePort();
/** The API as deployed, in its own process; `profile` runs it under the V8 profiler. */
const startApiProcess = (profile: boolean) =>
  startSystem({
    stack: false,
    workers: false,
    api: 'process',
    env: {
      // Two log lines per request at info would be read back and matched by this process, the load
      // generator, stealing its CPU: warn, as in bench:lifecycle.
      COMMONS_LOG_LEVEL: 'warn',
      COMMONS_EXACT_ATTRIBUTION_MAX_RECORDS: EXACT_MAX,
      // The process writes its profile into PROFILE_DIR when it exits.
      ...(profile ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}` } : {}),
    },
  });
const measured = await startApiProcess(false);
const bare = await startTsProcess('bench/bare-server.ts', { ...process.env, PORT: String(barePort) }, /LISTENING/);

const inputs = loadSpamAssassin({ limit: 200, seed: 3 }).map((x) => x.text.slice(0, 500));
const bodies = inputs.map((input) => JSON.stringify({ input }));
const body = bodies[0]!;
const inferPath = `/v1/models/${r.modelName}/infer`;
const inferUrl = `${measured.apiUrl}${inferPath}`;
const auth = { authorization: `Bearer ${r.apiKey}` };
const warmUp = async (url: string) => {
  const warm = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body });
  if (!warm.ok) throw new Error(`warm-up failed: ${warm.status} ${await warm.text()}`);
};
await warmUp(inferUrl);

log(
  `load: ${CONNECTIONS} connections × ${DURATION}s each (pipelining ${PIPELINING}), ${inputs.length} inputs of ≤ 500 chars in turn, model trained on ${r.submitted.length} records`,
);
const load = (url: string, headers: Record<string, string>, seconds = DURATION) =>
  httpLoad({ url, bodies, headers, connections: CONNECTIONS, seconds, pipelining: PIPELINING });
const bareRes = await load(`http://127.0.0.1:${barePort}/bare`, {});
// Postgres transactions during the infer load (pg_stat_database; the API's backends flush their
// counts when they exit, below): the group commits plus the API-key lookups, per answered call.
const pg = (await import('postgres')).default(process.env.DATABASE_URL!, { max: 1 });
const xacts = async () =>
  Number(
    (
      await pg<
        { n: string }[]
      >`select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`
    )[0]?.n ?? 0,
  );
const xactsBefore = await xacts();
const inferRes = await load(inferUrl, auth);
// The route's compute limit, in this process on one core: the same version, loaded the same way.
const pgCompute = (await import('postgres')).default(process.env.DATABASE_URL!, { max: 1 });
const cache = new ModelCache(pgCompute, S3ArtifactStore.fromConfig(setupCfg.s3), {
  predictors: new PredictorRegistry({ exactAttributionMaxRecords: Number(EXACT_MAX) }),
});
const { predictor } = await cache.production(r.modelName);
const request = (i: number) => ({
  messages: [{ role: 'user' as const, content: inputs[i % inputs.length]! }],
  topK: 5,
});
for (let i = 0; i < 400; i++) await predictor.predict(request(i));
// Counted in this process's CPU time, so helpers or a busy machine beside it do not lower the limit.
let computeCalls = 0;
const computeStart = performance.now();
const computeCpu = process.cpuUsage();
while (performance.now() - computeStart < Math.min(DURATION, 10) * 1000) {
  await predictor.predict(request(computeCalls));
  computeCalls++;
}
const { user, system } = process.cpuUsage(computeCpu);
const computeRps = computeCalls / ((user + system) / 1e6);
await pgCompute.end();
bare.kill('SIGTERM');
await measured.stop();
// Every answered paid call was committed (row and charge) before its answer; count them.
const xactsDuring = (await xacts()) - xactsBefore;
const [calls] = await pg<
  { n: number; settled: number; settlements: number }[]
>`select count(*)::int as n, count(*) filter (where settlement_id is not null)::int as settled, count(distinct settlement_id)::int as settlements from inference_calls where model_name = ${r.modelName}`;
const [fees] = await pg<
  { n: number }[]
>`select count(*)::int as n from transfers where reason like 'inference fee%' and proposal_id = ${r.proposalId}`;
// count(*) always answers one row.
if (!calls || !fees) throw new Error('count queries returned no row');

await pg.end();

// Where the API's CPU goes: the same load, shorter, on a fresh API process under the profiler.
const before = new Set(readdirSync(PROFILE_DIR));
const profiled = await startApiProcess(true);
await warmUp(`${profiled.apiUrl}${inferPath}`);
const profileRes = await load(`${profiled.apiUrl}${inferPath}`, auth, PROFILE_SECONDS);
await profiled.stop();
// The API's main thread writes the largest profile (worker threads write their own, small ones).
const [profileFile] = readdirSync(PROFILE_DIR)
  .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
  .map((f) => join(PROFILE_DIR, f))
  .sort((a, b) => statSync(b).size - statSync(a).size);
if (!profileFile) throw new Error(`the profiled API wrote no profile into ${PROFILE_DIR}`);
const breakdown = cpuBreakdown(profileFile);
if (process.env.BENCH_API_CPU_PROF) log(`API profile kept in ${profileFile}`);
else rmSync(PROFILE_DIR, { recursive: true, force: true });

const row = (name: string, x: typeof bareRes) =>
  `${name.padEnd(22)} ${x.rps.toFixed(0).padStart(8)} req/s   p50 ${String(x.p50).padStart(4)} ms   p99 ${String(x.p99).padStart(4)} ms   (${x.total} requests, ${x.non2xx} non-2xx, ${x.errors} errors)`;
console.log('');
console.log(row('bare Fastify route', bareRes));
console.log(`  CPU µs per request: ${cpuLine(bareRes)}`);
console.log(row('POST /v1/.../infer', inferRes));
console.log(`  CPU µs per request: ${cpuLine(inferRes)}`);
console.log(
  `ratio infer/bare: throughput ${(inferRes.rps / bareRes.rps).toFixed(3)}×, p50 ${(inferRes.p50 / Math.max(bareRes.p50, 1)).toFixed(1)}×, p99 ${(inferRes.p99 / Math.max(bareRes.p99, 1)).toFixed(1)}×`,
);
const computeUs = 1e6 / computeRps;
/** CPU µs per request of the process whose command line ends with `entry`. */
const cpuOf = (x: typeof bareRes, entry: string) =>
  Object.entries(x.cpuPerRequest).find(([k]) => k.endsWith(entry))?.[1] ?? 0;
console.log(
  `in-process compute limit (predict + attribute, ${predictor.attributionMode} over ${predictor.attributionRecords} records): ${computeRps.toFixed(0)} calls per CPU-second on one core (${computeUs.toFixed(0)} µs per call); endpoint/compute ${(inferRes.rps / computeRps).toFixed(3)}×`,
);
const perCall = (part: (typeof COMPUTE_PARTS)[number]) => (breakdown.micros.get(part) ?? 0) / profileRes.total;
const computeSampled = COMPUTE_PARTS.reduce((sum, p) => sum + perCall(p), 0);
const sampled = breakdown.total / profileRes.total;
console.log('');
console.log(
  `where the API's CPU goes per paid call (V8 profile of a second ${PROFILE_SECONDS}s load: ${profileRes.total} calls, ${profileRes.rps.toFixed(0)} req/s with the profiler on; sampled µs, so read the shares):`,
);
for (const line of breakdownLines(breakdown, profileRes.total)) console.log(line);
console.log(
  `  the model (featurisation to attribution) ${computeSampled.toFixed(0)} µs, everything around it ${(sampled - computeSampled).toFixed(0)} µs`,
);
console.log('');
console.log('side by side (this run):');
console.log(
  `  predict + attribute ${computeUs.toFixed(0)} µs per call (target ≤ 100) | API CPU ${cpuOf(inferRes, 'api/main.ts').toFixed(0)} µs per paid call, the bare route's server ${cpuOf(bareRes, 'bench/bare-server.ts').toFixed(0)} µs per request`,
);
console.log(
  `  endpoint ${inferRes.rps.toFixed(0)} req/s = ${(inferRes.rps / computeRps).toFixed(3)}× its compute limit (target ≥ 0.9) and ${(inferRes.rps / bareRes.rps).toFixed(3)}× the bare route (target ≥ 0.2)`,
);
// The same comparison in CPU alone, which a busy machine does not skew: the share of the API's
// CPU per paid call that is the model's compute (what endpoint/compute would be if the API's one
// thread were all that limited it).
console.log(
  `  the model's compute is ${(computeUs / Math.max(1, cpuOf(inferRes, 'api/main.ts'))).toFixed(3)}× of the API's CPU per paid call; the bare route's server spends ${(cpuOf(bareRes, 'bench/bare-server.ts') / Math.max(1, cpuOf(inferRes, 'api/main.ts'))).toFixed(3)}× of it`,
);
console.log(
  `paid calls recorded: ${calls.n} of ${inferRes.total + 2} answered, ${calls.settled} settled in ${calls.settlements} group commits (${fees.n} ledger transfers)`,
);
// The group commits of the bench's two warm-up calls and the compute loop's model load are in it too: a handful.
console.log(
  `Postgres transactions during the infer load: ${(xactsDuring / Math.max(1, inferRes.total)).toFixed(3)} per call (${xactsDuring}; group commits ${calls.settlements}, the rest API-key lookups and reads: ${((xactsDuring - calls.settlements) / Math.max(1, inferRes.total)).toFixed(3)} per call)`,
);
await services.stop();
process.exit(0);
