import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { startStack, type Stack } from '../../infra/local/stack.js';
import { freePort } from '../../infra/local/ports.js';
import { startTsProcess, stopProcess } from '../../infra/local/processes.js';
import { loadConfig } from '../../infra/config.js';
import { temporalConnectionOptions } from '../../infra/temporal-connection.js';
import { generateKeyPair } from '../../identity/keys.js';
import { CommonsClient } from '../../client/commons-client.js';
import { startTsProcessWithRetry } from '../processes.js';

/**
 * A benchmark's own local stack with the API and the workers in their own processes (this one is
 * the participants and the load): rate limits out of the way, versioned workers made current.
 */
export interface BenchStack {
  stack: Stack;
  /** The environment the API and workers run with. */
  env: NodeJS.ProcessEnv;
  /** The API's base URL. */
  base: string;
  api: ChildProcess;
  workers: ChildProcess[];
  sql: postgres.Sql;
  temporal: Client;
  /** A registered participant funded from the dev faucet. */
  participant: (roles: string[], funds?: { OPEN?: string; gOPEN?: string }) => Promise<CommonsClient>;
  stop(): Promise<void>;
}

export async function startBenchStack(o: {
  name: string;
  log: (line: string) => void;
  /** Worker entry points under workers/ (default: all kinds in one process). */
  workers?: string[];
  /** Settings for every process (API and workers), over the bench defaults. */
  env?: Record<string, string>;
  /** Settings for one worker entry point only (e.g. its metrics address). */
  workerEnv?: Record<string, Record<string, string>>;
}): Promise<BenchStack> {
  const stateDir = mkdtempSync(join(tmpdir(), `commons-bench-${o.name}-`));
  const stack = await startStack({ stateDir, log: o.log });
  const apiPort = await freePort();
  const env = {
    ...process.env,
    ...stack.env,
    API_PORT: String(apiPort),
    COMMONS_LOG_LEVEL: 'warn',
    COMMONS_CONTRIBUTION_RATE: '1000000000',
    COMMONS_CONTRIBUTION_BURST: '1000000000',
    COMMONS_WORKER_MAKE_CURRENT: '1', // versioned workers on the local stack make their version current
    ...o.env,
  };
  const workers: ChildProcess[] = [];
  for (const w of o.workers ?? ['all'])
    workers.push(await startTsProcessWithRetry(`workers/${w}.ts`, { ...env, ...o.workerEnv?.[w] }, /workers running/));
  const api = await startTsProcess('api/main.ts', env, /listening/i);
  const base = `http://127.0.0.1:${apiPort}`;
  const sql = postgres(stack.env.DATABASE_URL, { max: 2, onnotice: () => {} });
  const temporalCfg = loadConfig(env).temporal;
  const connection = await Connection.connect(temporalConnectionOptions(temporalCfg));
  const temporal = new Client({ connection, namespace: temporalCfg.namespace });
  return {
    stack,
    env,
    base,
    api,
    workers,
    sql,
    temporal,
    participant: async (roles, funds = {}) => {
      const c = new CommonsClient(base, generateKeyPair());
      await c.register(roles);
      if (funds.OPEN) await c.faucet('OPEN', funds.OPEN);
      if (funds.gOPEN) await c.faucet('gOPEN', funds.gOPEN);
      return c;
    },
    async stop() {
      // The API and workers exit first: a worker still finishing an activity then loses no connection.
      await Promise.all([api, ...workers].map((p) => stopProcess(p)));
      await sql.end();
      await connection.close();
      await stack.stop();
      // A 1M-record run leaves ~4 GB of Postgres, S3 and Temporal state: left behind, a few runs filled
      // this machine's disk mid-benchmark. BENCH_KEEP_STATE=1 keeps it for a post-mortem.
      if (process.env.BENCH_KEEP_STATE === '1') o.log(`state kept in ${stateDir}`);
      else rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
