import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { startSystem, type System, type WorkerEntry } from '../../infra/local/system.js';
import { temporalConnectionOptions } from '../../infra/temporal-connection.js';
import { generateKeyPair } from '../../identity/keys.js';
import { CommonsClient } from '../../client/commons-client.js';

/**
 * A benchmark's own local stack with the API and the workers in their own processes (this one is
 * the participants and the load): rate limits out of the way, versioned workers made current.
 */
export interface BenchStack {
  system: System;
  /** The environment the API and workers run with. */
  env: NodeJS.ProcessEnv;
  /** The API's base URL. */
  base: string;
  /** Process ids of the API and of the worker processes (in the order asked for). */
  apiPid: number;
  workerPids: number[];
  sql: postgres.Sql;
  temporal: Client;
  /** A registered participant funded from the dev faucet. */
  participant: (roles: string[], funds?: { OPEN?: string; gOPEN?: string }) => Promise<CommonsClient>;
  stop(): Promise<void>;
}

export async function startBenchStack(o: {
  log: (line: string) => void;
  /** Worker entry points under workers/ (default: all kinds in one process). */
  workers?: WorkerEntry[];
  /** Settings for every process (API and workers), over the bench defaults. */
  env?: Record<string, string>;
  /** Settings for one worker entry point only (e.g. its metrics address). */
  workerEnv?: Partial<Record<WorkerEntry, Record<string, string>>>;
}): Promise<BenchStack> {
  const system = await startSystem({
    log: o.log,
    // A 1M-record run leaves ~4 GB of Postgres, S3 and Temporal state: left behind, a few runs filled
    // this machine's disk mid-benchmark. BENCH_KEEP_STATE=1 keeps it for a post-mortem.
    removeState: process.env.BENCH_KEEP_STATE !== '1',
    workerProcesses: o.workers ?? ['all'],
    workerProcessEnv: o.workerEnv,
    api: 'process',
    env: {
      COMMONS_LOG_LEVEL: 'warn',
      COMMONS_CONTRIBUTION_RATE: '1000000000',
      COMMONS_CONTRIBUTION_BURST: '1000000000',
      ...o.env,
    },
  });
  const base = system.apiUrl;
  const sql = postgres(system.cfg.databaseUrl, { max: 2, onnotice: () => {} });
  const connection = await Connection.connect(temporalConnectionOptions(system.cfg.temporal));
  const temporal = new Client({ connection, namespace: system.cfg.temporal.namespace });
  const { api, workers } = system.processes;
  return {
    system,
    env: system.env,
    base,
    apiPid: api?.child?.pid ?? 0,
    workerPids: (o.workers ?? ['all']).map((w) => workers[w]?.child?.pid ?? 0),
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
      await sql.end();
      await connection.close();
      await system.stop();
    },
  };
}
