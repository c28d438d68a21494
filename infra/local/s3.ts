import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { ensureGoTool } from './go-tools.js';
import { waitFor } from './ports.js';

export interface LocalS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/** versitygw with the posix backend: a real S3 protocol server over a local directory. */
export async function startS3(opts: { dataDir: string; port: number; log?: (m: string) => void }): Promise<LocalS3> {
  const bin = await ensureGoTool('versitygw', opts.log);
  mkdirSync(opts.dataDir, { recursive: true });
  const accessKeyId = 'commons';
  const secretAccessKey = 'commons-local-secret';
  const child: ChildProcess = spawn(
    bin,
    [
      '--access',
      accessKeyId,
      '--secret',
      secretAccessKey,
      '--port',
      `127.0.0.1:${opts.port}`,
      '--quiet',
      'posix',
      opts.dataDir,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${opts.port}`;
  await waitFor('versitygw', async () => {
    if (child.exitCode !== null) throw new Error(`versitygw exited (${child.exitCode}): ${stderr}`);
    const res = await fetch(endpoint);
    return res.status > 0;
  });
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
