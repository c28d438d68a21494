import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../infra/local/stack.js';
import type { TestProject } from 'vitest/node';
import { bundleWorkflowsOnce, prepareTemplateDb } from './support/isolation.js';

/**
 * One real stack per test run: Temporal dev server, Postgres and versitygw in a fresh temporary
 * state directory. Test processes (forks) inherit the connection settings through process.env;
 * each file then switches to its own database and namespace (test/support/isolation.ts).
 * Only the `stack` tier (vitest.config.ts) uses it.
 */
let stack: Stack | undefined;
let stateDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  stateDir = mkdtempSync(join(tmpdir(), 'commons-test-'));
  const started = Date.now();
  // Webpack runs while the services start; each file then copies the template database and
  // registers its own namespace (test/support/isolation.ts).
  const bundled = bundleWorkflowsOnce(stateDir);
  stack = await startStack({ stateDir, log: (m) => console.log(`[stack] ${m}`) });
  Object.assign(process.env, stack.env, { COMMONS_TEST_STACK: '1' });
  await prepareTemplateDb(stack.env.DATABASE_URL);
  project.provide('workflowBundle', await bundled);
  console.log(
    `[stack] up in ${Date.now() - started} ms (Temporal ${stack.env.TEMPORAL_ADDRESS}, UI ${stack.temporalUiUrl ?? 'external'})`,
  );
}

export async function teardown(): Promise<void> {
  await stack?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}
