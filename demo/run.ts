// `npm run demo`: brings the local stack up, runs one model lifecycle end to end with simulated
// participants on the SpamAssassin corpus, and prints each stage as it happens. `--generative`
// runs the health assistant instead; `--keep` leaves everything up afterwards.
//
// Each run starts from a fresh state directory (removed at the end), so a second run behaves like
// the first: the accounts of earlier runs hold no voting power over this run's quorum.
// COMMONS_STATE_DIR names a directory to use and keep instead.
import { preferredPort } from '../infra/local/ports.js';
import { startSystem } from '../infra/local/system.js';
import { DEMO_PARAMS, runScenario } from '../scenarios/scenario.js';
import { GENERATIVE_DEMO_PARAMS, runGenerativeScenario } from '../scenarios/generative-scenario.js';

const keep = process.argv.includes('--keep');
const generative = process.argv.includes('--generative');
const t0 = Date.now();
const log = (line: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s  ${line}`);

log('starting the local stack (first run builds the Temporal CLI and versitygw: a few minutes)');
const system = await startSystem({
  stateDir: process.env.COMMONS_STATE_DIR,
  ports: {
    temporal: await preferredPort(7233),
    temporalUi: await preferredPort(8233),
    api: await preferredPort(8080),
  },
  apiLogger: false,
  log,
});
const url = system.apiUrl;
log(`state in ${system.stateDir}; Temporal ${system.cfg.temporal.address}, Postgres, S3 ${system.cfg.s3.endpoint}`);
log(`workers polling lifecycle, data-collection, gpu-training, gpu-rlhf; API at ${url} (OpenAPI ${url}/docs)`);

const run = Date.now().toString(36);
const proposalId = `spam-${run}`; // the classification scenario's
let exitCode = 0;
try {
  if (generative) {
    const modelName = `health-assistant-${run}`;
    const r = await runGenerativeScenario({
      baseUrl: url,
      log,
      proposalId: `health-${run}`,
      modelName,
      perTopic: Number(process.env.DEMO_PER_TOPIC ?? 24),
      contributors: 4,
      params: GENERATIVE_DEMO_PARAMS,
    });
    const [first] = r.contributors;
    if (first) {
      const earned = await first.rewards();
      log(`practitioner-1 earned ${earned.totals.OPEN ?? 0} OPEN (${earned.rewards.length} payments)`);
    }
    log(`done: ${modelName} is served at ${url}/v1/chat/completions (OpenAI-compatible).`);
  } else {
    const r = await runScenario({
      baseUrl: url,
      log,
      proposalId,
      modelName: `spam-filter-${run}`,
      records: Number(process.env.DEMO_RECORDS ?? 1200),
      contributors: 4,
      params: DEMO_PARAMS,
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
      `done: lifecycle ${proposalId} is serving. Temporal UI: ${system.temporalUiUrl}/namespaces/default/workflows/lifecycle-${proposalId}`,
    );
  }
} catch (err) {
  exitCode = 1;
  console.error(err);
}
if (keep && exitCode === 0) {
  log(`--keep: stack, workers and API stay up (Ctrl-C to stop). Temporal UI ${system.temporalUiUrl}, API ${url}`);
  // The explorer needs no key: the demo's model, proposal and Datanet are on it.
  log(`explorer (no key needed): ${url}/console/explorer.html; the signed-in console: ${url}/console/`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
}
await system.stop();
log(`finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(exitCode);
