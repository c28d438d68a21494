import { globSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureGoTool } from '../../infra/local/go-tools.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../contracts/search-attributes.js';
import { bundleWorkflowsOnce } from '../support/workflow-bundle.js';
import { namespaceOf, WORKFLOW_TEST_GLOB } from './namespaces.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The workflow bundle every worker of the tier loads (built once per run). */
    workflowBundlePath: string;
    /** The tier's Temporal dev server; each test file has its own namespace on it. */
    workflowTemporalAddress: string;
  }
}

/**
 * The workflow tier's one-time set-up: workflow code bundled once (workers load the file instead
 * of running webpack per worker) and one Temporal dev server (the CLI this project builds from Go,
 * no download) with a namespace per test file, so files run in parallel without taking each
 * other's tasks on the fixed task-queue names.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'commons-workflow-tier-'));
  const namespaces = globSync(WORKFLOW_TEST_GLOB, { cwd: project.config.root }).map((f) => namespaceOf(basename(f)));
  const shared = namespaces.filter((ns, i) => namespaces.indexOf(ns) !== i);
  if (shared.length > 0)
    throw new Error(`workflow test files must have distinct names (one namespace each): ${shared.join(', ')}`);
  const [bundlePath, executable] = await Promise.all([
    bundleWorkflowsOnce(dir),
    ensureGoTool('temporal', (m) => console.log(`[workflow tier] ${m}`)),
  ]);
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: executable },
      ip: '127.0.0.1',
      searchAttributes: [...SEARCH_ATTRIBUTE_KEYS],
      log: { format: 'pretty', level: 'error' },
      extraArgs: [
        ...namespaces.flatMap((ns) => ['--namespace', ns]),
        // Workflows hold many Updates in flight (votes, review answers), as on the local stack.
        '--dynamic-config-value',
        'history.maxInFlightUpdates=100',
      ],
    },
  });
  project.provide('workflowBundlePath', bundlePath);
  project.provide('workflowTemporalAddress', env.address);
  console.log(
    `[workflow tier] bundle and server ready in ${Date.now() - started} ms (${namespaces.length} namespaces)`,
  );
  return async () => {
    await env.teardown();
    rmSync(dir, { recursive: true, force: true });
  };
}
