import type { ChildProcess } from 'node:child_process';
import { startTsProcess } from '../infra/local/processes.js';

/**
 * Starts a process, again if it exits before it is ready: on a loaded machine the workers can
 * miss the 30 s they are given to make their version current on the dev server.
 */
export async function startTsProcessWithRetry(
  script: string,
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  attempts = 3,
): Promise<ChildProcess> {
  for (let i = 1; ; i++) {
    try {
      return await startTsProcess(script, env, ready);
    } catch (err) {
      if (i >= attempts) throw err;
      console.error(`${script} did not start (attempt ${i} of ${attempts}): ${String(err).slice(0, 300)}`);
    }
  }
}
