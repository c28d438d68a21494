// `npm run demo`: brings the local stack up, runs one model lifecycle end to end with simulated
// participants on the SpamAssassin corpus, and prints each stage as it happens. `--generative`
// runs the health assistant instead, `--private` a clinical triage model on a private Datanet (then
// reads every object in the bucket and finds no note); `--keep` leaves everything up afterwards.
//
// Each run starts from a fresh state directory (removed at the end), so a second run behaves like
// the first: the accounts of earlier runs hold no voting power over this run's quorum.
// COMMONS_STATE_DIR names a directory to use and keep instead.
import { preferredPort } from '../infra/local/ports.js';
import { startSystem } from '../infra/local/system.js';
import { DEMO_PARAMS, runScenario } from '../scenarios/scenario.js';
import { GENERATIVE_DEMO_PARAMS, runGenerativeScenario } from '../scenarios/generative-scenario.js';
import { runPrivateScenario } from '../scenarios/private-scenario.js';
import { S3ArtifactStore } from '../storage/s3-store.js';
import { Ledger } from '../db/ledger.js';
import postgres from 'postgres';
import { scanBucket } from './bucket-scan.js';

const keep = process.argv.includes('--keep');
const generative = process.argv.includes('--generative');
const privateData = process.argv.includes('--private');
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
  if (privateData) {
    const sql = postgres(system.cfg.databaseUrl, { max: 2, onnotice: () => {} });
    try {
      const ledger = new Ledger(sql);
      const canary = `canary-${run}`;
      const modelName = `triage-${run}`;
      const r = await runPrivateScenario({
        baseUrl: url,
        log,
        proposalId: `triage-${run}`,
        modelName,
        records: Number(process.env.DEMO_RECORDS ?? 400),
        clinicians: 4,
        canary,
        treasuryBalance: async () => BigInt(await ledger.balance('treasury', 'OPEN')),
      });
      // Every note says "presents: "; the canary is in one of them. Neither may be in any object.
      const scan = await scanBucket(S3ArtifactStore.fromConfig(system.cfg.s3), [canary, 'presents: ']);
      log(
        `read all ${scan.objects} objects in bucket ${system.cfg.s3.bucket} (${(scan.bytes / 1e6).toFixed(1)} MB): ${scan.found.length ? `PLAINTEXT FOUND in ${scan.found.join(', ')}` : 'no note text and no canary, only ciphertext, hashes and features'}`,
      );
      if (scan.found.length) exitCode = 1;
      log(
        `${r.submitted.length} private notes, ${r.clinicians.length} clinicians; done: ${modelName} is served at ${url}/v1/models/${modelName}/infer.`,
      );
    } finally {
      await sql.end();
    }
  } else if (generative) {
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
