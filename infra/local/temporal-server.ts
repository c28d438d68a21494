import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import postgres from 'postgres';
import { SEARCH_ATTRIBUTE_KEYS } from '../../contracts/search-attributes.js';
import { ensureGoTool } from './go-tools.js';
import { freePort, waitFor } from './ports.js';
import { DEV_SERVER_BUILTIN_DYNAMIC_CONFIG, STACK_DYNAMIC_CONFIG } from './temporal-config.js';
import { frontendUp, type LocalTemporal } from './temporal.js';

/** The ports of the real server's four services, its metrics endpoint and the UI server. */
export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  /** Ringpop membership, one per service. */
  membership: [number, number, number, number];
  metrics: number;
  ui: number;
}

/**
 * Free ports for the real server beside the frontend and UI ports the stack chose. The membership
 * ports are stored in a smallint column (cluster_membership.rpc_port), so they come from below
 * 32768, under the kernel's ephemeral range that freePort draws from.
 */
export async function freeServerPorts(frontend: number, ui: number): Promise<TemporalServerPorts> {
  const [frontendHttp, history, matching, worker, metrics] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  const membership: number[] = [];
  while (membership.length < 4) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (!membership.includes(port) && (await portFree(port))) membership.push(port);
  }
  return {
    frontend,
    frontendHttp: frontendHttp!,
    history: history!,
    matching: matching!,
    worker: worker!,
    membership: membership as TemporalServerPorts['membership'],
    metrics: metrics!,
    ui,
  };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * The real Temporal server (go.temporal.io/server, all four services in one process) on the local
 * Postgres: persistence and SQL visibility in databases of their own, created and migrated by the
 * server's own temporal-sql-tool, and the Temporal UI server beside it. docs/temporal-server.md.
 */
export async function startTemporalServer(opts: {
  /** This server's config files (rewritten on every start); its state is in Postgres. */
  dir: string;
  /** The stack's Postgres (any database: the server's own are created beside it). */
  postgresUrl: string;
  shards: number;
  ports: TemporalServerPorts;
  /** Names the server's databases (`<prefix>_<shards>_shards`, `<prefix>_visibility_<shards>_shards`); default `temporal`. */
  databasePrefix?: string;
  log?: (m: string) => void;
}): Promise<LocalTemporal> {
  const log = opts.log ?? (() => {});
  const [serverBin, sqlTool, uiBin] = [
    await ensureGoTool('temporal-server', log),
    await ensureGoTool('temporal-sql-tool', log),
    await ensureGoTool('temporal-ui-server', log),
  ];
  const pg = new URL(opts.postgresUrl);
  // numHistoryShards can never change for a cluster's database: each shard count has its own.
  const databases = {
    default: `temporal_${opts.shards}_shards`,
    visibility: `temporal_visibility_${opts.shards}_shards`,
  };
  await applySchemas(sqlTool, pg, databases);

  mkdirSync(join(opts.dir, 'config', 'dynamicconfig'), { recursive: true });
  // JSON is YAML: the server's config loader reads these files as they are.
  writeFileSync(
    join(opts.dir, 'config', 'development.yaml'),
    JSON.stringify(serverConfig(opts, pg, databases), null, 2),
  );
  const dynamic = { ...DEV_SERVER_BUILTIN_DYNAMIC_CONFIG, ...STACK_DYNAMIC_CONFIG };
  writeFileSync(
    join(opts.dir, 'config', 'dynamicconfig', 'development.yaml'),
    JSON.stringify(Object.fromEntries(Object.entries(dynamic).map(([k, value]) => [k, [{ value }]])), null, 2),
  );
  const address = `127.0.0.1:${opts.ports.frontend}`;
  const server = spawnLogged(serverBin, [
    '--root',
    opts.dir,
    '--config',
    'config',
    '--env',
    'development',
    '--allow-no-auth',
    'start',
  ]);
  try {
    await untilExit(
      server,
      waitFor('temporal server', () => frontendUp(address), 120_000),
    );
    await registerDefaultNamespace(address);
  } catch (err) {
    await stopChild(server.child);
    throw err;
  }

  mkdirSync(join(opts.dir, 'ui', 'config'), { recursive: true });
  writeFileSync(
    join(opts.dir, 'ui', 'config', 'development.yaml'),
    JSON.stringify({
      temporalGrpcAddress: address,
      host: '127.0.0.1',
      port: opts.ports.ui,
      enableUi: true,
      defaultNamespace: 'default',
      cors: { cookieInsecure: true },
      hideLogs: true,
    }),
  );
  const ui = spawnLogged(uiBin, [
    '--root',
    join(opts.dir, 'ui'),
    '--config',
    'config',
    '--env',
    'development',
    'start',
  ]);
  const uiUrl = `http://127.0.0.1:${opts.ports.ui}`;
  try {
    await waitFor(
      'temporal ui server',
      async () => {
        if (ui.child.exitCode !== null)
          throw new Error(`temporal ui server exited (${ui.child.exitCode}): ${ui.tail()}`);
        return (await fetch(uiUrl)).ok;
      },
      30_000,
    );
  } catch (err) {
    await Promise.all([stopChild(ui.child), stopChild(server.child)]);
    throw err;
  }
  return {
    address,
    uiUrl,
    metricsUrl: `http://127.0.0.1:${opts.ports.metrics}/metrics`,
    pids: () => [server.child, ui.child].filter((c) => c.pid && c.exitCode === null).map((c) => c.pid!),
    stop: async () => {
      await Promise.all([stopChild(ui.child), stopChild(server.child)]);
    },
  };
}

/** Creates the two databases on first use and migrates both to the schema this server release embeds. */
async function applySchemas(sqlTool: string, pg: URL, databases: { default: string; visibility: string }) {
  const admin = postgres({
    host: pg.hostname,
    port: Number(pg.port),
    user: decodeURIComponent(pg.username),
    password: decodeURIComponent(pg.password),
    database: 'postgres',
    max: 1,
    onnotice: () => {},
  });
  try {
    for (const [db, schema] of [
      [databases.default, 'postgresql/v12/temporal'],
      [databases.visibility, 'postgresql/v12/visibility'],
    ] as const) {
      const tool = (...args: string[]) =>
        runQuiet(sqlTool, ['--plugin', 'postgres12', '--ep', pg.hostname, '-p', pg.port, '--db', db, ...args], {
          ...process.env,
          SQL_USER: decodeURIComponent(pg.username),
          SQL_PASSWORD: decodeURIComponent(pg.password),
        });
      const exists = (await admin`select 1 from pg_database where datname = ${db}`).length > 0;
      if (!exists) {
        await tool('create-database');
        // Version 0.0: the tool's own bookkeeping; update-schema then applies every versioned step.
        await tool('setup-schema', '-v', '0.0');
      }
      // A no-op at the current version; after a server upgrade it applies the new steps.
      await tool('update-schema', '--schema-name', schema);
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
}

function serverConfig(
  opts: { dir: string; shards: number; ports: TemporalServerPorts },
  pg: URL,
  databases: { default: string; visibility: string },
) {
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${pg.hostname}:${pg.port}`,
      connectProtocol: 'tcp',
      user: decodeURIComponent(pg.username),
      password: decodeURIComponent(pg.password),
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const p = opts.ports;
  const service = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...(httpPort ? { httpPort } : {}) },
  });
  return {
    log: { stdout: true, level: 'error' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: opts.shards,
      // Per service (four in this process): the stack's Postgres allows 200 connections, which the
      // test files' own pools share.
      datastores: { default: store(databases.default, 20), visibility: store(databases.visibility, 4) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: {
        prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `127.0.0.1:${p.metrics}` },
      },
    },
    services: {
      frontend: service(p.frontend, p.membership[0], p.frontendHttp),
      history: service(p.history, p.membership[1]),
      matching: service(p.matching, p.membership[2]),
      worker: service(p.worker, p.membership[3]),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${p.frontend}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    publicClient: { hostPort: `127.0.0.1:${p.frontend}` },
    dynamicConfigClient: {
      filepath: join(opts.dir, 'config', 'dynamicconfig', 'development.yaml'),
      pollInterval: '10s',
    },
  };
}

/**
 * The `default` namespace with every search attribute of contracts/search-attributes.ts, as the dev
 * server's flags make it; kept across restarts (both calls accept what is already there). SQL
 * visibility maps custom attributes onto fixed columns per type (10 Keyword, 3 of each other type).
 */
async function registerDefaultNamespace(address: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const known = await connection.workflowService
      .describeNamespace({ namespace: 'default' })
      .then(() => true)
      .catch(() => false);
    if (!known)
      await connection.workflowService.registerNamespace({
        namespace: 'default',
        workflowExecutionRetentionPeriod: proto.google.protobuf.Duration.fromObject({ seconds: 24 * 3600 }),
      });
    const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
    const searchAttributes = Object.fromEntries(
      SEARCH_ATTRIBUTE_KEYS.map((k) => [k.name, IndexedValueType[`INDEXED_VALUE_TYPE_${k.type}`]]),
    );
    // The namespace registry is a cache: retry until the frontend knows the new namespace.
    await waitFor(
      'default namespace search attributes',
      async () => {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        const missing = Object.fromEntries(Object.entries(searchAttributes).filter(([k]) => !customAttributes?.[k]));
        if (Object.keys(missing).length)
          await connection.operatorService.addSearchAttributes({ namespace: 'default', searchAttributes: missing });
        return true;
      },
      30_000,
    );
  } finally {
    await connection.close();
  }
}

/** `ready`, or the process's exit with the end of its output, whichever comes first. */
async function untilExit(p: { child: ChildProcess; tail(): string }, ready: Promise<void>): Promise<void> {
  let onExit: () => void = () => {};
  const exited = new Promise<never>((_, reject) => {
    onExit = () =>
      reject(new Error(`${p.child.spawnfile} exited (${p.child.exitCode ?? p.child.signalCode}): ${p.tail()}`));
    p.child.once('exit', onExit);
  });
  try {
    await Promise.race([ready, exited]);
  } finally {
    p.child.off('exit', onExit);
  }
}

/** Runs the SQL tool, its log kept out of the caller's output unless it fails. */
async function runQuiet(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const p = spawnLogged(bin, args, env);
  const code = await new Promise<number | null>((resolve) => p.child.once('exit', resolve));
  if (code !== 0) throw new Error(`${bin} ${args.join(' ')} exited with ${code}: ${p.tail()}`);
}

function spawnLogged(bin: string, args: string[], env = process.env): { child: ChildProcess; tail(): string } {
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { child, tail: () => out };
}

/** SIGTERM (the server drains and leaves membership), SIGKILL if it has not exited within 15 s. */
function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
