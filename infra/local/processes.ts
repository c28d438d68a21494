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

/**
 * A TypeScript entry point run as its own process, which can be stopped, SIGKILLed and started
 * again with the same environment (the fault run kills workers and the API mid-lifecycle).
 */
export class ManagedProcess {
  child?: ChildProcess;
  constructor(
    readonly script: string,
    readonly env: NodeJS.ProcessEnv,
    readonly ready: RegExp,
    /**
     * Starts again if it exits before it is ready: on a loaded machine a worker can miss the 30 s
     * it is given to make its version current on the dev server.
     */
    readonly attempts = 3,
  ) {}

  async start(): Promise<ChildProcess> {
    for (let i = 1; ; i++) {
      try {
        this.child = await startTsProcess(this.script, this.env, this.ready);
        return this.child;
      } catch (err) {
        if (i >= this.attempts) throw err;
        console.error(`${this.script} did not start (attempt ${i} of ${this.attempts}): ${String(err).slice(0, 300)}`);
      }
    }
  }

  async kill9AndRestart(pauseMs = 0): Promise<void> {
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    }
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    await this.start();
  }

  async stop(): Promise<void> {
    if (this.child) await stopProcess(this.child);
  }
}
