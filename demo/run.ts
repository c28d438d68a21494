// `npm run demo`: brings the local stack up, runs one model lifecycle end to end with simulated
// participants on the SpamAssassin corpus, and prints each stage as it happens.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startStack } from '../infra/local/stack.js';
import { preferredPort } from '../infra/local/ports.js';
import { loadConfig } from '../infra/config.js';
import { startWorkers } from '../workers/runtime.js';
import { startApi } from '../api/bootstrap.js';
import { runScenario } from './scenario.js';
import { runGenerativeScenario } from './generative-scenario.js';

const keep = process.argv.includes('--keep');
const generative = process.argv.includes('--generative');
const stateDir = process.env.COMMONS_STATE_DIR ?? join(tmpdir(), 'commons-demo');
const t0 = Date.now();
const log = (line: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s  ${line}`);

log(`starting the local stack in ${stateDir} (first run builds the Temporal CLI and versitygw: a few minutes)`);
const stack = await startStack({
  stateDir,
  ports: { temporal: await preferredPort(7233), temporalUi: await preferredPort(8233) },
  log,
});
Object.assign(process.env, stack.env, { API_PORT: String(await preferredPort(8080)) });
const cfg = loadConfig();
log(`stack up: Temporal ${stack.env.TEMPORAL_ADDRESS}, Postgres, S3 ${stack.env.S3_ENDPOINT}`);
const workers = await startWorkers(['lifecycle', 'data', 'training', 'rlhf'], cfg, {}, { makeCurrent: true });
const api = await startApi(cfg, { logger: false });
log(`workers polling lifecycle, data-collection, gpu-training, gpu-rlhf; API at ${api.url} (OpenAPI ${api.url}/docs)`);

const run = Date.now().toString(36);
const proposalId = `spam-${run}`; // the classification scenario's
let exitCode = 0;
try {
  if (generative) {
    const modelName = `health-assistant-${run}`;
    const r = await runGenerativeScenario({
      baseUrl: api.url,
      log,
      proposalId: `health-${run}`,
      modelName,
      perTopic: Number(process.env.DEMO_PER_TOPIC ?? 24),
      contributors: 4,
      params: { serving: { feePerCall: '10', rewardPool: '1000' } },
    });
    const [first] = r.contributors;
    if (first) {
      const earned = await first.rewards();
      log(`practitioner-1 earned ${earned.totals.OPEN ?? 0} OPEN (${earned.rewards.length} payments)`);
    }
    log(`done: ${modelName} is served at ${api.url}/v1/chat/completions (OpenAI-compatible).`);
  } else {
    const r = await runScenario({
      baseUrl: api.url,
      log,
      proposalId,
      modelName: `spam-filter-${run}`,
      records: Number(process.env.DEMO_RECORDS ?? 1200),
      contributors: 4,
      params: {
        stake: '1000',
        governance: { votingPeriodMs: 120_000 },
        collection: { windowMs: 120_000, pollIntervalMs: 500, batchSize: 250 },
        training: { hyperparams: { epochs: 10, checkpointEvery: 40 }, heartbeatTimeoutMs: 30_000 },
        rlhf: { promptsPerRound: 8, roundDeadlineMs: 120_000 },
        serving: { feePerCall: '10', rewardPool: '1000' },
      },
    });
    const stored = r.submitted.find((s) => s.status === 'stored');
    const proof = stored && (await r.developer.proof(stored.hash).catch(() => undefined));
    if (proof)
      log(
        `Merkle inclusion proof for a contribution: root ${proof.root.slice(0, 16)}…, ${proof.proof.siblings.length} siblings`,
      );
    const [first] = r.contributors;
    if (first) {
      const earned = await first.rewards();
      log(`contributor-1 earned ${earned.totals.OPEN ?? 0} OPEN (${earned.rewards.length} payments)`);
    }
    log(
      `done: lifecycle ${proposalId} is serving. Temporal UI: ${stack.temporalUiUrl}/namespaces/default/workflows/lifecycle-${proposalId}`,
    );
  }
} catch (err) {
  exitCode = 1;
  console.error(err);
}
if (keep && exitCode === 0) {
  log(`--keep: stack, workers and API stay up (Ctrl-C to stop). Temporal UI ${stack.temporalUiUrl}, API ${api.url}`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
}
await api.close();
await workers.shutdown();
await stack.stop();
process.exit(exitCode);
