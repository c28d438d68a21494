import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { ensureGoTool } from './go-tools.js';
import { waitFor } from './ports.js';

/** local-kms (github.com/nsmithuk/local-kms): the AWS KMS API over a local directory, for tests of the KMS KEK. */
export async function startLocalKms(opts: {
  dataDir: string;
  port: number;
  region?: string;
  log?: (m: string) => void;
}): Promise<{ endpoint: string; region: string; stop(): Promise<void> }> {
  const bin = await ensureGoTool('local-kms', opts.log);
  mkdirSync(opts.dataDir, { recursive: true });
  const region = opts.region ?? 'us-east-1';
  const child: ChildProcess = spawn(bin, [], {
    env: { PATH: process.env.PATH, PORT: String(opts.port), KMS_REGION: region, KMS_DATA_PATH: opts.dataDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${opts.port}`;
  await waitFor('local-kms', async () => {
    if (child.exitCode !== null) throw new Error(`local-kms exited (${child.exitCode}): ${stderr}`);
    const res = await fetch(endpoint, { method: 'POST' });
    return res.status > 0;
  });
  return {
    endpoint,
    region,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
