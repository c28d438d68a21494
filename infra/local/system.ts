import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from '@temporalio/worker';
import { loadConfig, type CommonsConfig } from '../config.js';
import { migrateDb } from '../../db/client.js';
import { startWorkers, type RunningWorkers, type WorkerKind } from '../../workers/runtime.js';
import { startApi } from '../../api/bootstrap.js';
import { startStack, type Stack, type StackOptions } from './stack.js';
import { freePort } from './ports.js';
import { ManagedProcess } from './processes.js';

/** Worker entry points under workers/ (one kind each, or all four in one process). */
export type WorkerEntry = 'all' | 'lifecycle' | 'data-collection' | 'gpu-training' | 'gpu-rlhf';

const ALL_KINDS: WorkerKind[] = ['lifecycle', 'data', 'training', 'rlhf'];
/**
 * An entry point of the repository, from whatever working directory the caller runs in (relative,
 * so process listings and the benches' CPU tables name it `api/main.ts`, not a full path).
 */
const entryPoint = (path: string) => relative(process.cwd(), fileURLToPath(new URL(`../../${path}`, import.meta.url)));

/** Worker processes that open encrypted records (and so get the KEK's unwrap half); the others do not. */
const UNWRAPPING_WORKERS: WorkerEntry[] = ['all', 'data-collection', 'gpu-training'];

/**
 * The environment of a process that must not decrypt (the API, the lifecycle and RLHF workers):
 * the local KEK's public file only. (With AWS KMS the difference is the process's IAM role.)
 */
export function withoutKekUnwrap(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { COMMONS_KEK_FILE: _unwrap, ...rest } = env;
  return rest;
}

export interface SystemOptions {
  log?: (m: string) => void;
  /**
   * Start the local services (default), each unless the environment names a real one; false: use
   * the services the environment names (a test file against the run's stack from global setup).
   */
  stack?: boolean;
  /** State directory of the services; default a fresh temporary one. */
  stateDir?: string;
  /** Remove the state directory on stop; default: only a fresh temporary one is removed. */
  removeState?: boolean;
  /** Fixed ports (the demo and `npm run stack` prefer the usual ones); default: free ports. */
  ports?: StackOptions['ports'] & { api?: number };
  /** Worker kinds run in this process (default all four); false: none here. */
  workers?: WorkerKind[] | false;
  /** Worker entry points run as their own processes, as deployed (instead of `workers`). */
  workerProcesses?: WorkerEntry[];
  /** Settings for one worker process only (e.g. its metrics address). */
  workerProcessEnv?: Partial<Record<WorkerEntry, Record<string, string>>>;
  /** Worker options for the in-process workers (e.g. pollers). */
  workerOptions?: Partial<WorkerOptions>;
  /** The API in this process (default), in its own process, or not at all. */
  api?: 'in-process' | 'process' | false;
  /** Fastify logger of an in-process API (default: errors only, so a failing run says why). */
  apiLogger?: boolean | object;
  /**
   * Settings over the stack's, for the config of this process's parts and for child processes
   * (e.g. a per-file DATABASE_URL and TEMPORAL_NAMESPACE, rate limits, log level).
   */
  env?: Record<string, string>;
  /** Workers make their version current in each deployment once they poll (default: true, a local stack). */
  makeCurrent?: boolean;
  /** The in-process workers run this workflow bundle (a file built once by bundleWorkflowCode). */
  workflowBundle?: string;
  /** Start Jaeger with the services and export traces to it (`npm run stack`, the demo). */
  tracing?: boolean;
}

export interface System {
  /** The environment every part runs with: the stack's settings and `env`. */
  env: NodeJS.ProcessEnv;
  cfg: CommonsConfig;
  /** The API's base URL ('' without an API). */
  apiUrl: string;
  temporalUiUrl?: string;
  /** Set when this call started the services (each can be stopped and started again). */
  stack?: Stack;
  stateDir?: string;
  /** In-process workers; a test may shut them down and put others in their place. */
  workers?: RunningWorkers;
  /** Parts run as their own processes, each restartable (fault runs SIGKILL them). */
  processes: { api?: ManagedProcess; workers: Partial<Record<WorkerEntry, ManagedProcess>> };
  /** Stops the API and workers first (a worker finishing an activity keeps its connections), then the services. */
  stop(): Promise<void>;
}

/**
 * The one way to start Commons locally: the services (Temporal dev server, Postgres, S3), the
 * workers and the API, in this process or as processes. The test setup, the demo, the benches, the
 * fault run and `npm run stack` all start it here.
 */
export async function startSystem(o: SystemOptions = {}): Promise<System> {
  const log = o.log ?? (() => {});
  const startServices = o.stack !== false;
  const stateDir = startServices ? (o.stateDir ?? mkdtempSync(join(tmpdir(), 'commons-'))) : undefined;
  const removeState = o.removeState ?? o.stateDir === undefined;
  let stack: Stack | undefined;
  let system: System | undefined;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err: unknown) => log(`stop: ${String(err)}`));
    stops.length = 0;
  };
  try {
    if (stateDir) {
      stack = await startStack({ stateDir, ports: o.ports, log, ...(o.tracing ? { tracing: true } : {}) });
      const services = stack;
      stops.push(async () => {
        await services.stop();
        if (removeState) rmSync(stateDir, { recursive: true, force: true });
        else log(`state kept in ${stateDir}`);
      });
    }
    const apiPort = o.api === 'process' ? (o.ports?.api ?? (await freePort())) : (o.ports?.api ?? 0);
    const env: NodeJS.ProcessEnv = { ...process.env, ...stack?.env, ...o.env, API_PORT: String(apiPort) };
    // Scenario code, benches and test forks read the stack's settings from the environment.
    if (stack) Object.assign(process.env, stack.env, o.env);
    const cfg = loadConfig(env);
    await migrateDb(cfg.databaseUrl);
    const makeCurrent = o.makeCurrent ?? true;

    let workers: RunningWorkers | undefined;
    const processes: System['processes'] = { workers: {} };
    if (o.workerProcesses) {
      const workerEnv = { ...env, COMMONS_WORKER_MAKE_CURRENT: makeCurrent ? '1' : '0' };
      for (const w of o.workerProcesses) {
        const p = new ManagedProcess(
          entryPoint(`workers/${w}.ts`),
          { ...(UNWRAPPING_WORKERS.includes(w) ? workerEnv : withoutKekUnwrap(workerEnv)), ...o.workerProcessEnv?.[w] },
          /workers running/,
        );
        stops.push(() => p.stop());
        await p.start();
        processes.workers[w] = p;
      }
    } else if (o.workers !== false) {
      const running = await startWorkers(o.workers ?? ALL_KINDS, cfg, o.workerOptions ?? {}, {
        makeCurrent,
        workflowBundle: o.workflowBundle,
      });
      workers = running;
      // The workers running at stop: a test may have replaced the ones started here.
      stops.push(async () => await (system ? system.workers : running)?.shutdown());
    }

    let apiUrl = '';
    if (o.api === 'process') {
      const p = new ManagedProcess(entryPoint('api/main.ts'), withoutKekUnwrap(env), /listening/i, 1);
      stops.push(() => p.stop());
      await p.start();
      processes.api = p;
      apiUrl = `http://127.0.0.1:${apiPort}`;
    } else if (o.api !== false) {
      const api = await startApi(loadConfig(withoutKekUnwrap(env)), { logger: o.apiLogger ?? { level: 'error' } });
      stops.push(() => api.close());
      apiUrl = api.url;
    }
    system = {
      env,
      cfg,
      apiUrl,
      temporalUiUrl: stack?.temporalUiUrl,
      stack,
      stateDir,
      workers,
      processes,
      stop,
    };
    return system;
  } catch (err) {
    await stop();
    throw err;
  }
}
