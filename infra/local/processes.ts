import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Starts a TypeScript entry point in its own Node process; resolves once its output matches `ready`. */
export function startTsProcess(script: string, env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let isReady = false;
    const onData = (d: Buffer) => {
      // Once up, the child's errors and warnings go to our stderr so a failing run says why.
      if (isReady)
        return void (
          /"level":(40|50|60)|"level":"(WARN|ERROR)"|Error/.test(String(d)) &&
          process.stderr.write(`[${script}] ${d.toString()}`)
        );
      out = (out + d.toString()).slice(-20_000);
      if (ready.test(out)) {
        isReady = true;
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${script} exited ${code}: ${out}`)));
  });
}

/** Peak resident set size of a process (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Stops a child: SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves once it has
 * exited, so whoever stops the stack next (Postgres, Temporal) does not pull it from under a worker
 * still finishing its activities.
 */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace'>((resolve) => (timer = setTimeout(() => resolve('grace'), graceMs)));
  if ((await Promise.race([exited, graceOver])) === 'grace') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}
