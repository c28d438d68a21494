import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../infra/local/stack.js';
import { migrateDb } from '../db/client.js';

/**
 * One real stack per test run: Temporal dev server, Postgres and versitygw in a fresh temporary
 * state directory. Test processes (forks) inherit the connection settings through process.env.
 * Only the `stack` tier (vitest.config.ts) uses it.
 */
let stack: Stack | undefined;
let stateDir: string | undefined;

export async function setup(): Promise<void> {
  stateDir = mkdtempSync(join(tmpdir(), 'commons-test-'));
  const started = Date.now();
  stack = await startStack({ stateDir, log: (m) => console.log(`[stack] ${m}`) });
  Object.assign(process.env, stack.env, { COMMONS_TEST_STACK: '1' });
  await migrateDb(stack.env.DATABASE_URL);
  console.log(
    `[stack] up in ${Date.now() - started} ms (Temporal ${stack.env.TEMPORAL_ADDRESS}, UI ${stack.temporalUiUrl ?? 'external'})`,
  );
}

export async function teardown(): Promise<void> {
  await stack?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}
