import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client, CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { ensureLocalKekFiles } from '../kms/local-kek.js';
import { freePort } from './ports.js';
import { startPostgres } from './postgres.js';
import { startS3 } from './s3.js';
import { startTemporal, type LocalTemporal } from './temporal.js';
import { temporalFlavour, temporalShards, type TemporalFlavour } from './temporal-config.js';
import { freeServerPorts, startTemporalServer } from './temporal-server.js';
import { startJaeger, type LocalJaeger } from './jaeger.js';

/** Environment a worker, the API or a test needs to reach the stack (see infra/config.ts). */
export interface StackEnv {
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  DATABASE_URL: string;
  S3_ENDPOINT: string;
  S3_BUCKET: string;
  S3_REGION: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  COMMONS_PROTOCOL_SETTINGS: string;
  /** The local stack is for development: its API mints test funds (docs/security.md). */
  COMMONS_DEV_FAUCET: string;
  /** The UI of the Temporal server this stack started, if it started one. */
  COMMONS_TEMPORAL_UI_URL?: string;
  /**
   * The local KEK (infra/kms/local-kek.ts), made in the state directory: the key file for the
   * data-collection and training workers, its public file for the API (system.ts gives the API
   * the public file only). Unset when the environment names another KEK (COMMONS_KEK).
   */
  COMMONS_KEK_FILE?: string;
  COMMONS_KEK_PUBLIC_FILE?: string;
  /** The stack's Jaeger (OTLP over HTTP), when it started one: the API and workers export traces there. */
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
}

/**
 * The local stack's protocol settings (demo, tests, history recorder, fault runs): voting periods
 * from a second, a 3-second unbonding period and gate floors at 0, so lifecycles run in seconds;
 * quorum, thresholds, minimum stake and treasury caps stay the production defaults.
 */
export const LOCAL_PROTOCOL_SETTINGS = fileURLToPath(new URL('./protocol-settings.json', import.meta.url));

/** A local service that can be stopped and started again on the same port and state (fault runs). */
export interface LocalService {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Stack {
  env: StackEnv;
  temporalUiUrl?: string;
  /** Which Temporal server this stack started (COMMONS_TEMPORAL), if it started one. */
  temporalFlavour?: TemporalFlavour;
  /** The Temporal server's metrics endpoint and processes (as now running: they change on a restart), for the benches. */
  temporalProcess?: { metricsUrl: string; pids(): number[] };
  /** Jaeger's UI and query API, when this stack started it (`tracing`). */
  tracesUiUrl?: string;
  /** The services this stack started (those the environment did not provide). */
  services: Partial<Record<'temporal' | 'postgres' | 's3', LocalService>>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Where the Temporal SQLite file (or the real server's config), Postgres cluster and S3 objects live. */
  stateDir: string;
  /** Fixed ports for a long-running stack (demo); tests take free ones. */
  ports?: { temporal?: number; temporalUi?: number; postgres?: number; s3?: number; jaegerUi?: number };
  log?: (m: string) => void;
  /** Start Jaeger and point OTEL_EXPORTER_OTLP_ENDPOINT at it, unless the environment names an endpoint. */
  tracing?: boolean;
}

/** A service started once; `stop` and `start` take it down and bring it back on the same port and state. */
async function restartable<T extends { stop(): Promise<void> }>(
  start: () => Promise<T>,
): Promise<{ first: T; service: LocalService }> {
  let current: T | undefined = await start();
  const first = current;
  return {
    first,
    service: {
      async start() {
        current ??= await start();
      },
      async stop() {
        const c = current;
        current = undefined;
        await c?.stop();
      },
    },
  };
}

/** The stack's local KEK files, made once per state directory, unless the environment names a KEK. */
function localKek(stateDir: string): Pick<StackEnv, 'COMMONS_KEK_FILE' | 'COMMONS_KEK_PUBLIC_FILE'> {
  if (process.env.COMMONS_KEK || process.env.COMMONS_KEK_FILE || process.env.COMMONS_KEK_PUBLIC_FILE) return {};
  const keyFile = join(stateDir, 'kek.json');
  const publicFile = join(stateDir, 'kek-public.json');
  ensureLocalKekFiles(keyFile, publicFile);
  return { COMMONS_KEK_FILE: keyFile, COMMONS_KEK_PUBLIC_FILE: publicFile };
}

/**
 * Starts whatever the environment does not already provide: TEMPORAL_ADDRESS, DATABASE_URL and
 * S3_ENDPOINT each replace the local service with a real deployment.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? (() => {});
  mkdirSync(opts.stateDir, { recursive: true });
  // Postgres runs as an unprivileged user when we are root: it must be able to enter the state dir.
  chmodSync(opts.stateDir, 0o755);
  const services: Stack['services'] = {};
  let jaeger: LocalJaeger | undefined;
  const stop = async () => {
    // Temporal first: the real server keeps its state in this Postgres.
    for (const s of [services.temporal, jaeger, services.s3, services.postgres]) await s?.stop().catch(() => {});
  };
  try {
    const flavour = process.env.TEMPORAL_ADDRESS ? undefined : temporalFlavour();
    const postgresStarted = process.env.DATABASE_URL
      ? Promise.resolve(undefined)
      : (async () => {
          const port = opts.ports?.postgres ?? (await freePort());
          const dataDir = join(opts.stateDir, 'postgres');
          const p = await restartable(() => startPostgres({ dataDir, port, database: 'commons', log }));
          services.postgres = p.service;
          return p.first;
        })();
    let currentTemporal: LocalTemporal | undefined;
    // allSettled: when one service fails, the others have finished starting and are stopped too.
    const settled = await Promise.allSettled([
      flavour === undefined
        ? Promise.resolve(undefined)
        : (async () => {
            const port = opts.ports?.temporal ?? (await freePort());
            const uiPort = opts.ports?.temporalUi ?? (await freePort());
            let start: () => Promise<LocalTemporal>;
            if (flavour === 'dev') {
              const dbFile = join(opts.stateDir, 'temporal.db');
              const metricsPort = await freePort();
              start = () => startTemporal({ dbFile, port, uiPort, metricsPort, log });
            } else {
              // The real server keeps its state in the stack's Postgres, so it starts once that is up.
              const postgresUrl = process.env.DATABASE_URL ?? (await postgresStarted)!.url;
              const shards = temporalShards();
              const ports = await freeServerPorts(port, uiPort);
              const dir = join(opts.stateDir, 'temporal-server');
              start = () => startTemporalServer({ dir, postgresUrl, shards, ports, log });
            }
            const t = await restartable(async () => (currentTemporal = await start()));
            services.temporal = t.service;
            return t.first;
          })(),
      postgresStarted,
      process.env.S3_ENDPOINT
        ? Promise.resolve(undefined)
        : (async () => {
            const port = opts.ports?.s3 ?? (await freePort());
            const s = await restartable(() => startS3({ dataDir: join(opts.stateDir, 's3'), port, log }));
            services.s3 = s.service;
            return s.first;
          })(),
      opts.tracing && !process.env.OTEL_EXPORTER_OTLP_ENDPOINT
        ? (async () => {
            const ui = opts.ports?.jaegerUi;
            jaeger = await startJaeger({ stateDir: opts.stateDir, ...(ui ? { ports: { ui } } : {}), log });
          })()
        : Promise.resolve(undefined),
    ]);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [temporal, pg, s3] = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
      LocalTemporal | undefined,
      Awaited<ReturnType<typeof startPostgres>> | undefined,
      Awaited<ReturnType<typeof startS3>> | undefined,
    ];
    const env: StackEnv = {
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? temporal!.address,
      TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? 'default',
      DATABASE_URL: process.env.DATABASE_URL ?? pg!.url,
      S3_ENDPOINT: process.env.S3_ENDPOINT ?? s3!.endpoint,
      S3_BUCKET: process.env.S3_BUCKET ?? 'commons',
      S3_REGION: process.env.S3_REGION ?? 'us-east-1',
      S3_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY_ID ?? s3?.accessKeyId ?? '',
      S3_SECRET_ACCESS_KEY: process.env.S3_SECRET_ACCESS_KEY ?? s3?.secretAccessKey ?? '',
      COMMONS_PROTOCOL_SETTINGS: process.env.COMMONS_PROTOCOL_SETTINGS ?? LOCAL_PROTOCOL_SETTINGS,
      COMMONS_DEV_FAUCET: process.env.COMMONS_DEV_FAUCET ?? '1',
      ...(temporal ? { COMMONS_TEMPORAL_UI_URL: process.env.COMMONS_TEMPORAL_UI_URL ?? temporal.uiUrl } : {}),
      ...localKek(opts.stateDir),
      ...(jaeger ? { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint } : {}),
    };
    await ensureBucket(env);
    return {
      env,
      temporalUiUrl: temporal?.uiUrl,
      temporalFlavour: flavour,
      tracesUiUrl: jaeger?.uiUrl,
      temporalProcess: temporal && {
        metricsUrl: temporal.metricsUrl,
        pids: () => currentTemporal?.pids() ?? [],
      },
      services,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function ensureBucket(env: StackEnv): Promise<void> {
  const client = new S3Client({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    forcePathStyle: true,
    credentials: env.S3_ACCESS_KEY_ID
      ? { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY }
      : undefined,
  });
  try {
    await client.send(new HeadBucketCommand({ Bucket: env.S3_BUCKET }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: env.S3_BUCKET }));
  } finally {
    client.destroy();
  }
}
