import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import type { CommonsConfig } from '../../infra/config.js';
import { temporalConnectionOptions } from '../../infra/temporal-connection.js';
import type { RunningWorkers, WorkerKind } from '../../workers/runtime.js';
import { startSystem } from '../../infra/local/system.js';
import { S3ArtifactStore } from '../../storage/s3-store.js';
import { Ledger } from '../../db/ledger.js';
import { ApiError } from '../../client/commons-client.js';

export interface TestApp {
  cfg: CommonsConfig;
  url: string;
  sql: postgres.Sql;
  ledger: Ledger;
  store: S3ArtifactStore;
  temporal: Client;
  workers?: RunningWorkers;
  close(): Promise<void>;
}

/**
 * Workers and the API in this test process, against the stack from test/global-setup.ts. Each
 * test file gets its own, in the file's own database and namespace (test/support/isolation.ts), on
 * the workflow bundle global setup built once. `stack: true` starts a stack of its own, stopped by
 * `close` (the history recorder runs outside vitest).
 */
export async function startTestApp(
  opts: { workers?: WorkerKind[] | false; env?: Record<string, string>; stack?: boolean } = {},
): Promise<TestApp> {
  if (!opts.stack && !process.env.COMMONS_TEST_STACK)
    throw new Error('this test needs the real stack (run it through `npm test`, not with COMMONS_STACK=skip)');
  process.env.COMMONS_LOG_LEVEL ??= 'ERROR'; // SDK warnings such as 'no workflows registered' are expected here
  const system = await startSystem({
    stack: opts.stack ?? false,
    workers: opts.workers,
    env: { ...opts.env, ...(opts.stack ? { COMMONS_TEST_STACK: '1' } : {}) },
    ...(opts.stack ? {} : { workflowBundle: inject('workflowBundle') }),
  });
  const { cfg } = system;
  const sql = postgres(cfg.databaseUrl, { max: 4, onnotice: () => {} });
  const connection = await Connection.connect(temporalConnectionOptions(cfg.temporal));
  const app: TestApp = {
    cfg,
    url: system.apiUrl,
    sql,
    ledger: new Ledger(sql),
    store: S3ArtifactStore.fromConfig(cfg.s3),
    temporal: new Client({ connection, namespace: cfg.temporal.namespace }),
    workers: system.workers,
    async close() {
      // The workers running now: a test may have stopped and replaced the ones started here.
      system.workers = app.workers;
      await system.stop();
      await connection.close();
      await sql.end();
    },
  };
  return app;
}

/** Workers the tests start: made current, on the workflow bundle global setup built once. */
export function testWorkerOptions(): { makeCurrent: true; workflowBundle: string } {
  return { makeCurrent: true, workflowBundle: inject('workflowBundle') };
}

/** Polls until `check` returns a value (not undefined), or fails with the last error. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `condition not met within ${timeoutMs} ms${lastErr === undefined ? '' : `: ${lastErr instanceof Error ? String(lastErr) : JSON.stringify(lastErr)}`}`,
        {
          cause: lastErr,
        },
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The ApiError a request is refused with; fails the test if the request succeeds or fails otherwise. */
export async function refusal(request: Promise<unknown>): Promise<ApiError> {
  try {
    await request;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('the API accepted a request it should have refused');
}

/** The item at `index`; fails the test with `what` when there is none. */
export function at<T>(items: readonly T[], index: number, what = `item ${index}`): T {
  const item = items[index];
  if (item === undefined) throw new Error(`missing ${what} (${items.length} items)`);
  return item;
}
