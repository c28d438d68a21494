import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startSystem, type System } from '../infra/local/system.js';
import { prepareTemplateDb } from './support/isolation.js';
import { bundleWorkflowsOnce } from './support/workflow-bundle.js';

/**
 * One real stack per test run: Temporal (the dev server, or the real one with COMMONS_TEMPORAL=server), Postgres and versitygw in a fresh temporary
 * state directory, without workers or an API (each test file starts its own in process, through
 * the same harness). Test processes (forks) inherit the connection settings through process.env;
 * each file then switches to its own database and namespace (test/support/isolation.ts).
 * Only the `stack` tier (vitest.config.ts) uses it.
 */
let system: System | undefined;
let bundleDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  // Webpack runs while the services start; each file then copies the template database and
  // registers its own namespace (test/support/isolation.ts).
  bundleDir = mkdtempSync(join(tmpdir(), 'commons-bundle-'));
  const bundled = bundleWorkflowsOnce(bundleDir);
  system = await startSystem({
    workers: false,
    api: false,
    env: { COMMONS_TEST_STACK: '1' },
    log: (m) => console.log(`[stack] ${m}`),
  });
  await prepareTemplateDb(system.cfg.databaseUrl);
  project.provide('workflowBundle', await bundled);
  console.log(
    `[stack] up in ${Date.now() - started} ms (Temporal ${system.stack?.temporalFlavour ?? 'external'} ${system.cfg.temporal.address}, UI ${system.temporalUiUrl ?? 'external'})`,
  );
}

export async function teardown(): Promise<void> {
  await system?.stop();
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
}
