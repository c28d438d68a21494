import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureGoTool } from './go-tools.js';
import { CLI_TYPE_NAMES, SEARCH_ATTRIBUTE_KEYS } from '../../contracts/search-attributes.js';
import { waitFor } from './ports.js';
import { STACK_DYNAMIC_CONFIG } from './temporal-config.js';

export interface LocalTemporal {
  address: string;
  uiUrl: string;
  /** The server's Prometheus endpoint (persistence and task latencies for the benches). */
  metricsUrl: string;
  /** Process ids of the server's processes (the benches read their RSS and CPU). */
  pids(): number[];
  stop(): Promise<void>;
}

/** The official Temporal dev server with a persistent SQLite file and the UI on. */
export async function startTemporal(opts: {
  dbFile: string;
  port: number;
  uiPort: number;
  metricsPort: number;
  log?: (m: string) => void;
}): Promise<LocalTemporal> {
  const bin = await ensureGoTool('temporal', opts.log);
  mkdirSync(dirname(opts.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    opts.dbFile,
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--log-level',
    'error',
    '--metrics-port',
    String(opts.metricsPort),
  ];
  // Every task completion is a SQLite transaction: with the default rollback journal and a full sync
  // per commit, many lifecycles at once queue behind the disk (bench:lifecycles: tasks waited ~50 s
  // to start with the workers' slots free). WAL with normal sync survives a process kill (the
  // fault tests restart this server); only an OS crash can lose the last commits of a dev stack.
  args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  for (const key of SEARCH_ATTRIBUTE_KEYS) args.push('--search-attribute', `${key.name}=${CLI_TYPE_NAMES[key.type]}`);
  for (const [key, value] of Object.entries(STACK_DYNAMIC_CONFIG))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const address = `127.0.0.1:${opts.port}`;
  await waitFor(
    'temporal dev server',
    async () => {
      if (child.exitCode !== null) throw new Error(`temporal exited (${child.exitCode}): ${stderr}`);
      return frontendUp(address);
    },
    90_000,
  );
  return {
    address,
    uiUrl: `http://127.0.0.1:${opts.uiPort}`,
    metricsUrl: `http://127.0.0.1:${opts.metricsPort}/metrics`,
    pids: () => (child.pid && child.exitCode === null ? [child.pid] : []),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Whether the Temporal frontend at `address` answers (a server this process just spawned: plain TCP on loopback, never TLS). */
export async function frontendUp(address: string): Promise<boolean> {
  const conn = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await conn.workflowService.getSystemInfo({});
    return true;
  } finally {
    await conn.close();
  }
}
