import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, Runtime, DefaultLogger, type WorkerOptions } from '@temporalio/worker';
import { loadConfig, LOG_LEVELS, type CommonsConfig, type LogLevel } from '../infra/config.js';
import { temporalConnectionOptions } from '../infra/temporal-connection.js';
import { TASK_QUEUES, type WorkerKind } from '../contracts/task-queues.js';
import { VERSIONING_BEHAVIOR, WORKER_DEPLOYMENTS } from '../contracts/worker-deployments.js';
import { resolveBuildId } from '../infra/versioning/build-id.js';
import { setCurrentVersion } from '../infra/versioning/deployments.js';
import { connectDb } from '../db/client.js';
import { S3ArtifactStore } from '../storage/s3-store.js';
import { kekOf } from '../infra/kms/from-config.js';
import { RecordOpener } from '../infra/private-records/open-records.js';
import { Ledger } from '../db/ledger.js';
import { TaskRoutingTrainer } from '../ml/generative/task-trainer.js';
import { EmbeddedTrainer } from '../ml/embedded/embedded-trainer.js';
import type { ActivityDeps } from '../activities/deps.js';
import type { Trainer } from '../ml/trainer.js';
import { createLifecycleActivities } from '../activities/lifecycle/activities.js';
import { createDataActivities } from '../activities/data/activities.js';
import { createRecordReadActivities } from '../activities/records/sealed-read.js';
import { createTrainingActivities } from '../activities/training/activities.js';
import { startTracing } from '../infra/telemetry/tracing.js';
import { tracingWorkerOptions, workflowInterceptorModules } from '../infra/telemetry/temporal.js';

export type { WorkerKind };

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * The image build (`npm run build`, infra/image/build.ts) compiles to dist/ and bundles the workflow
 * code into this file beside the compiled workers, so production workers load it instead of running
 * webpack at start; from the sources (dev, tests) it does not exist and workflowsPath is bundled.
 */
export const WORKFLOW_BUNDLE_FILE = 'workflow-bundle.js';
const prebuiltWorkflowBundle = fileURLToPath(new URL(`../${WORKFLOW_BUNDLE_FILE}`, import.meta.url));

/** The workers' log level: COMMONS_LOG_LEVEL, warn when unset. */
const logLevelOf = (cfg: CommonsConfig): LogLevel => cfg.logLevel ?? 'warn';
const logLevelEnabled = (cfg: CommonsConfig, level: LogLevel) =>
  LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(logLevelOf(cfg));

let runtimeInstalled = false;
/** The SDK runtime is one per process: the first workers started configure it. */
function installRuntime(cfg: CommonsConfig): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // Structured JSON logs from the SDK, at warn by default (COMMONS_LOG_LEVEL to change).
  const level = logLevelOf(cfg).toUpperCase() as Uppercase<LogLevel>;
  // Worker metrics (task latencies, schedule-to-start, slots) for Prometheus when an address is set.
  const metricsAddress = cfg.workers.metricsAddress;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      process.stderr.write(
        JSON.stringify({
          level: entry.level,
          time: Number(entry.timestampNanos / 1_000_000n),
          msg: entry.message,
          ...entry.meta,
        }) + '\n',
      );
    }),
    ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } } : {}),
  });
}

/** Trainers this process offers: the embedded one always, the external command when configured. */
async function trainersOf(cfg: CommonsConfig): Promise<Record<string, Trainer>> {
  // The embedded kind serves both tasks: the classifier, and the RAG model for generation.
  const trainers: Record<string, Trainer> = { embedded: new TaskRoutingTrainer(new EmbeddedTrainer()) };
  const external = cfg.workers.externalTrainer;
  if (external) {
    const { ExternalCommandTrainer } = await import('../ml/external/external-trainer.js');
    // The script's own output (what is not a progress event) goes to the worker log, so a failing
    // GPU job can be diagnosed from the worker's logs, not only from the tail in the failure.
    const logTrainer = logLevelEnabled(cfg, 'info')
      ? (line: string) =>
          process.stderr.write(
            JSON.stringify({ level: 'INFO', time: Date.now(), msg: line, source: 'external-trainer' }) + '\n',
          )
      : undefined;
    trainers.external = new ExternalCommandTrainer({
      command: external.command,
      args: external.args,
      onLog: logTrainer,
    });
  }
  return trainers;
}

export interface StartWorkersOptions {
  /** This release's build id (default: COMMONS_BUILD_ID, or the package version and a hash of the workflow code). */
  buildId?: string;
  /**
   * Make this version current in each deployment once its workers poll. The local stack (tests,
   * the demo) does; production leaves it to the rollout (README, "Versioned deploys"), except where
   * COMMONS_WORKER_MAKE_CURRENT=1 asks for it (single-host compose).
   */
  makeCurrent?: boolean;
  /** Workflow code to run (default workflows/index.ts); the versioning test runs a changed copy. */
  workflowsPath?: string;
  /**
   * A bundle of that code already built by `bundleWorkflowCode` (its file path): the tests bundle
   * once per run instead of once per worker.
   */
  workflowBundle?: string;
}

/** The workflow code a lifecycle worker runs: a given bundle, a given path, the image's bundle, or the sources. */
function workflowCodeOf(
  opts: StartWorkersOptions,
): Pick<WorkerOptions, 'workflowBundle'> | Pick<WorkerOptions, 'workflowsPath'> {
  if (opts.workflowBundle) return { workflowBundle: { codePath: opts.workflowBundle } };
  if (opts.workflowsPath) return { workflowsPath: opts.workflowsPath };
  if (existsSync(prebuiltWorkflowBundle)) return { workflowBundle: { codePath: prebuiltWorkflowBundle } };
  return { workflowsPath };
}

export interface RunningWorkers {
  workers: Worker[];
  buildId: string;
  run: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Creates workers for the given task queues in this process, sharing one connection, one Postgres
 * pool and one S3 client. Production runs one kind per process (workers/<kind>.ts); tests and the
 * demo run all four here.
 */
export async function startWorkers(
  kinds: WorkerKind[],
  cfg: CommonsConfig = loadConfig(),
  extra: Partial<WorkerOptions> = {},
  opts: StartWorkersOptions = {},
): Promise<RunningWorkers> {
  const buildId = opts.buildId ?? resolveBuildId(cfg.workers.buildId);
  installRuntime(cfg);
  const tracing = startTracing(cfg.tracing, 'commons-worker');
  const traced = tracingWorkerOptions(tracing);
  // The schema is migrated beforehand (the migrate Job, or the local stack), never by a worker.
  const connection = await NativeConnection.connect(temporalConnectionOptions(cfg.temporal));
  const dbh = connectDb(cfg.databaseUrl, { max: 20 });
  const store = S3ArtifactStore.fromConfig(cfg.s3);
  const kek = kekOf(cfg.kek);
  const deps: ActivityDeps = {
    sql: dbh.sql,
    store,
    ledger: new Ledger(dbh.sql),
    trainers: await trainersOf(cfg),
    protocol: cfg.protocol,
    ...(kek ? { kek, records: new RecordOpener({ sql: dbh.sql, store, kek }) } : {}),
  };
  const workers: Worker[] = [];
  const workflowCode = workflowCodeOf(opts);
  for (const kind of kinds) {
    const base = {
      connection,
      namespace: cfg.temporal.namespace,
      taskQueue: TASK_QUEUES[kind],
      // Worker Versioning: each kind is a worker deployment; this process is its `buildId` version.
      workerDeploymentOptions: {
        useWorkerVersioning: true as const,
        version: { deploymentName: WORKER_DEPLOYMENTS[kind], buildId },
        defaultVersioningBehavior: VERSIONING_BEHAVIOR[kind],
      },
      ...traced,
      ...extra,
    };
    switch (kind) {
      case 'lifecycle':
        workers.push(
          await Worker.create({
            ...base,
            ...workflowCode,
            // A prebuilt bundle already holds the tracing interceptors (bundled with them).
            ...('workflowsPath' in workflowCode
              ? { interceptors: { ...base.interceptors, workflowModules: workflowInterceptorModules } }
              : {}),
            activities: createLifecycleActivities(deps),
          }),
        );
        break;
      case 'data':
        workers.push(
          await Worker.create({
            ...base,
            activities: { ...createDataActivities(deps), ...createRecordReadActivities(deps) },
            maxConcurrentActivityTaskExecutions: 8,
          }),
        );
        break;
      case 'training':
      case 'rlhf':
        // GPU queues: one job at a time per worker process (the model owns the device).
        workers.push(
          await Worker.create({
            ...base,
            activities: createTrainingActivities(deps),
            maxConcurrentActivityTaskExecutions: 1,
          }),
        );
        break;
    }
  }
  const run = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  if (opts.makeCurrent)
    for (const kind of kinds)
      await setCurrentVersion(connection.workflowService, { namespace: cfg.temporal.namespace, kind, buildId });
  return {
    workers,
    buildId,
    run,
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await run.catch(() => {});
      await dbh.close();
      await connection.close();
      await tracing.flush();
    },
  };
}

/** Entry point body for workers/<kind>.ts: run until SIGINT/SIGTERM. */
export async function runWorkerMain(kinds: WorkerKind[]): Promise<void> {
  const cfg = loadConfig();
  const w = await startWorkers(kinds, cfg, {}, { makeCurrent: cfg.workers.makeCurrent });
  console.log(
    JSON.stringify({
      level: 'INFO',
      msg: 'workers running',
      taskQueues: kinds.map((k) => TASK_QUEUES[k]),
      buildId: w.buildId,
    }),
  );
  const stop = () => void w.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await w.run;
}
