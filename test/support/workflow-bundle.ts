import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowsPath } from '../../workers/runtime.js';
import { workflowInterceptorModules } from '../../infra/telemetry/temporal.js';

const quiet = () => {};
/** Webpack's progress stays quiet; its errors still reach the run's output. */
const quietLogger = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: console.error, log: quiet };

/**
 * The workflow code bundled once per test run (webpack costs seconds of CPU per worker otherwise),
 * written under `dir`; workers load the file (startWorkers' `workflowBundle`, or `workflowBundle:
 * { codePath }` in the workflow tier). Both tiers' global setups call it.
 */
export async function bundleWorkflowsOnce(dir: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules,
    logger: quietLogger,
  });
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'workflow-bundle.js');
  writeFileSync(path, code);
  return path;
}
