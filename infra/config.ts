import { readFileSync } from 'node:fs';
import { protocolSettingsFrom, type ProtocolSettings } from '../domain/protocol/settings.js';

/**
 * Configuration shared by the workers and the API, read from the environment here and nowhere else
 * (lint refuses `process.env` in production code outside this file): a bad value stops the process at
 * start with the variable's name, instead of surfacing later as odd behaviour.
 */
export interface TemporalConfig {
  address: string;
  namespace: string;
  /** Where people open the Temporal UI (COMMONS_TEMPORAL_UI_URL): the console links each lifecycle's workflow there. */
  uiUrl?: string;
  /** TLS to the frontend: on with any of the TLS variables or an API key. */
  tls?: {
    /** Client certificate and key (PEM files) for mTLS; both or neither. */
    certPath?: string;
    keyPath?: string;
    /** CA certificate (PEM file) that signed the server's certificate; system roots if absent. */
    caPath?: string;
    /** Server name to verify the certificate against, when it differs from the address's host. */
    serverName?: string;
  };
  /** Temporal Cloud API key (sent as a bearer token; implies TLS). */
  apiKey?: string;
}

/**
 * OpenTelemetry traces over OTLP (http/protobuf), from the standard variables: on when
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set, unless
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
 */
export interface TracingConfig {
  /** Where spans are posted: the traces endpoint as given, or the endpoint with `/v1/traces`. */
  tracesUrl: string;
  /** OTEL_SERVICE_NAME; unset, each process names itself (commons-api, commons-worker). */
  serviceName?: string;
}

export interface CommonsConfig {
  temporal: TemporalConfig;
  /** Absent: no tracing, and no cost for it. */
  tracing?: TracingConfig;
  databaseUrl: string;
  s3: { endpoint?: string; region: string; bucket: string; accessKeyId?: string; secretAccessKey?: string };
  api: {
    host: string;
    port: number;
    publicUrl: string;
    /** Accounts that may take the admin role at registration (COMMONS_ADMIN_ADDRESSES, comma-separated). */
    adminAddresses: string[];
    /** Contributions per contributor: sustained per second and at once (COMMONS_CONTRIBUTION_RATE, _BURST). */
    contributionRate: { perSec: number; burst: number };
    /** How long a live read (`?live=1`) waits for its workflow (COMMONS_LIVE_READ_TIMEOUT_MS). */
    liveReadTimeoutMs: number;
    /** How long one scrape-time read of Postgres answers /metrics (COMMONS_METRICS_CACHE_MS). */
    metricsCacheMs: number;
  };
  /**
   * COMMONS_LOG_LEVEL (trace, debug, info, warn or error, any case); unset, the API logs at info and
   * the workers at warn.
   */
  logLevel?: LogLevel;
  workers: {
    /** Where the workers serve Prometheus metrics (COMMONS_WORKER_METRICS_ADDRESS, host:port); none when unset. */
    metricsAddress?: string;
    /** This release's build id (COMMONS_BUILD_ID); unset, derived from the workflow code (infra/versioning/build-id.ts). */
    buildId?: string;
    /** The workers make their build the current version once they poll (COMMONS_WORKER_MAKE_CURRENT=1). */
    makeCurrent: boolean;
    /** The external trainer: a command and its arguments (COMMONS_TRAINER_COMMAND, COMMONS_TRAINER_ARGS). */
    externalTrainer?: { command: string; args: string[] };
  };
  /** Enables the dev-only faucet route (mints anything, unsigned): only with COMMONS_DEV_FAUCET=1. */
  devFaucet: boolean;
  /** The rules of the game (docs/protocol-settings.md): admin configuration, validated at start. */
  protocol: ProtocolSettings;
  /**
   * Inference attribution: versions trained on at most `exactMaxRecords` records are attributed
   * exactly (postings rebuilt from the manifest on load); larger ones use the ANN index built at
   * training time, downloaded once into `indexCacheDir` and memory-mapped.
   */
  attribution: { exactMaxRecords: number; indexCacheDir?: string };
  /**
   * Names this deployment in every signed message, so a signature made for one deployment is
   * refused by another. COMMONS_DEPLOYMENT_ID, or else a random id kept in Postgres (shared by
   * every replica of the deployment; see api/deployment.ts).
   */
  deploymentId?: string;
  /**
   * An OpenAI-compatible server (vLLM, or ml/external/reference/serve.py) that answers for models
   * the external trainer made; absent: only embedded models are served.
   */
  inferenceUpstream?: { baseUrl: string; adapterDir: string; apiKey?: string };
  /**
   * The key-encryption key of encrypted Datanets (infra/kms; docs/private-datanets.md "Keys"). Each
   * process gets only its capability: the API the wrap half (COMMONS_KEK_PUBLIC_FILE, or a KMS role
   * with kms:Encrypt only), the data-collection and training workers the unwrap half too
   * (COMMONS_KEK_FILE, or kms:Decrypt). Absent: no encrypted Datanet can open.
   */
  kek?: KekConfig;
}

export type KekConfig =
  | {
      kind: 'local';
      /** The key file with the private halves (COMMONS_KEK_FILE): workers only. */
      keyFile?: string;
      /** The public file (COMMONS_KEK_PUBLIC_FILE): wrap only, what the API gets. */
      publicFile?: string;
    }
  | {
      kind: 'aws-kms';
      /** Key id, ARN or alias of the symmetric KMS key (COMMONS_KMS_KEY_ID). */
      keyId: string;
      /** COMMONS_KMS_REGION, else S3_REGION. */
      region: string;
      /** A local KMS (COMMONS_KMS_ENDPOINT), e.g. local-kms in tests. */
      endpoint?: string;
    };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new Error(`${name} is not set (see README "Configuration")`);
  return v;
}

/** A positive number from variable `name` (`fallback` when unset or empty), else an error naming it. */
function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got "${raw}")`);
  return n;
}

function logLevelOf(env: NodeJS.ProcessEnv): LogLevel | undefined {
  const raw = env.COMMONS_LOG_LEVEL;
  if (!raw) return undefined;
  const level = raw.toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(level))
    throw new Error(`COMMONS_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${raw}")`);
  return level;
}

function workersFromEnv(env: NodeJS.ProcessEnv): CommonsConfig['workers'] {
  const command = env.COMMONS_TRAINER_COMMAND;
  if (!command && env.COMMONS_TRAINER_ARGS)
    throw new Error('COMMONS_TRAINER_ARGS is set without COMMONS_TRAINER_COMMAND (the external trainer to run)');
  return {
    ...(env.COMMONS_BUILD_ID ? { buildId: env.COMMONS_BUILD_ID } : {}),
    ...(env.COMMONS_WORKER_METRICS_ADDRESS ? { metricsAddress: env.COMMONS_WORKER_METRICS_ADDRESS } : {}),
    makeCurrent: env.COMMONS_WORKER_MAKE_CURRENT === '1',
    ...(command
      ? { externalTrainer: { command, args: (env.COMMONS_TRAINER_ARGS ?? '').split(' ').filter(Boolean) } }
      : {}),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): CommonsConfig {
  const port = Number(env.API_PORT ?? 8080);
  const host = env.API_HOST ?? '127.0.0.1';
  const logLevel = logLevelOf(env);
  const burst = positive('COMMONS_CONTRIBUTION_BURST', env.COMMONS_CONTRIBUTION_BURST, 2000);
  if (burst < 1)
    throw new Error(`COMMONS_CONTRIBUTION_BURST must be at least 1 (got "${env.COMMONS_CONTRIBUTION_BURST}")`);
  return {
    temporal: temporalFromEnv(env),
    databaseUrl: required(env, 'DATABASE_URL'),
    s3: {
      endpoint: env.S3_ENDPOINT || undefined,
      region: env.S3_REGION ?? 'us-east-1',
      bucket: env.S3_BUCKET ?? 'commons',
      accessKeyId: env.S3_ACCESS_KEY_ID || undefined,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY || undefined,
    },
    api: {
      host,
      port,
      publicUrl: env.API_PUBLIC_URL ?? `http://${host}:${port}`,
      adminAddresses: (env.COMMONS_ADMIN_ADDRESSES ?? '').split(',').filter(Boolean),
      contributionRate: { perSec: positive('COMMONS_CONTRIBUTION_RATE', env.COMMONS_CONTRIBUTION_RATE, 200), burst },
      liveReadTimeoutMs: positive('COMMONS_LIVE_READ_TIMEOUT_MS', env.COMMONS_LIVE_READ_TIMEOUT_MS, 5000),
      metricsCacheMs: positive('COMMONS_METRICS_CACHE_MS', env.COMMONS_METRICS_CACHE_MS, 15_000),
    },
    ...(logLevel ? { logLevel } : {}),
    workers: workersFromEnv(env),
    devFaucet: env.COMMONS_DEV_FAUCET === '1',
    deploymentId: env.COMMONS_DEPLOYMENT_ID || undefined,
    protocol: protocolFromEnv(env),
    attribution: {
      exactMaxRecords: Number(env.COMMONS_EXACT_ATTRIBUTION_MAX_RECORDS ?? 5000),
      indexCacheDir: env.COMMONS_INDEX_CACHE || undefined,
    },
    ...(env.COMMONS_INFERENCE_UPSTREAM_URL
      ? {
          inferenceUpstream: {
            baseUrl: env.COMMONS_INFERENCE_UPSTREAM_URL,
            adapterDir: required(env, 'COMMONS_UPSTREAM_ADAPTER_DIR'),
            ...(env.COMMONS_INFERENCE_UPSTREAM_API_KEY ? { apiKey: env.COMMONS_INFERENCE_UPSTREAM_API_KEY } : {}),
          },
        }
      : {}),
    ...kekFromEnv(env),
    ...tracingFromEnv(env),
  };
}

function tracingFromEnv(env: NodeJS.ProcessEnv): { tracing?: TracingConfig } {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return {};
  if (env.OTEL_TRACES_EXPORTER && env.OTEL_TRACES_EXPORTER.trim() !== 'otlp') {
    if (env.OTEL_TRACES_EXPORTER.trim() === 'none') return {};
    throw new Error(`OTEL_TRACES_EXPORTER must be otlp or none (got "${env.OTEL_TRACES_EXPORTER}")`);
  }
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol && protocol !== 'http/protobuf')
    throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL: Commons exports traces over http/protobuf (got "${protocol}")`);
  const signal = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracesUrl = signal || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!tracesUrl) return {};
  if (!/^https?:\/\/[^\s]+$/.test(tracesUrl))
    throw new Error(`OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL (got "${signal || base}")`);
  return { tracing: { tracesUrl, ...(env.OTEL_SERVICE_NAME ? { serviceName: env.OTEL_SERVICE_NAME } : {}) } };
}

function kekFromEnv(env: NodeJS.ProcessEnv): { kek?: KekConfig } {
  const kind = env.COMMONS_KEK || (env.COMMONS_KEK_FILE || env.COMMONS_KEK_PUBLIC_FILE ? 'local' : undefined);
  if (kind === undefined) return {};
  if (kind === 'local') {
    if (!env.COMMONS_KEK_FILE && !env.COMMONS_KEK_PUBLIC_FILE)
      throw new Error('COMMONS_KEK=local needs COMMONS_KEK_FILE (workers) or COMMONS_KEK_PUBLIC_FILE (the API)');
    return {
      kek: {
        kind,
        ...(env.COMMONS_KEK_FILE ? { keyFile: env.COMMONS_KEK_FILE } : {}),
        ...(env.COMMONS_KEK_PUBLIC_FILE ? { publicFile: env.COMMONS_KEK_PUBLIC_FILE } : {}),
      },
    };
  }
  if (kind === 'aws-kms')
    return {
      kek: {
        kind,
        keyId: required(env, 'COMMONS_KMS_KEY_ID'),
        region: env.COMMONS_KMS_REGION || env.S3_REGION || 'us-east-1',
        ...(env.COMMONS_KMS_ENDPOINT ? { endpoint: env.COMMONS_KMS_ENDPOINT } : {}),
      },
    };
  throw new Error(`COMMONS_KEK must be local or aws-kms (got "${kind}")`);
}

/**
 * Protocol settings: the JSON file named by COMMONS_PROTOCOL_SETTINGS merged over the defaults in
 * domain/protocol/settings.ts. A malformed or unsafe file stops the process at start instead of
 * running with rules nobody chose.
 */
function protocolFromEnv(env: NodeJS.ProcessEnv): ProtocolSettings {
  let overrides: unknown = {};
  const file = env.COMMONS_PROTOCOL_SETTINGS;
  if (file) {
    try {
      overrides = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`COMMONS_PROTOCOL_SETTINGS: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  const { settings, errors } = protocolSettingsFrom(overrides);
  if (errors.length)
    throw new Error(
      `invalid protocol settings${file ? ` in ${file}` : ''} (docs/protocol-settings.md): ${errors.join('; ')}`,
    );
  return settings;
}

function temporalFromEnv(env: NodeJS.ProcessEnv): TemporalConfig {
  const t: TemporalConfig = {
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
  };
  const tls = {
    certPath: env.TEMPORAL_TLS_CERT || undefined,
    keyPath: env.TEMPORAL_TLS_KEY || undefined,
    caPath: env.TEMPORAL_TLS_CA || undefined,
    serverName: env.TEMPORAL_TLS_SERVER_NAME || undefined,
  };
  if (!tls.certPath !== !tls.keyPath)
    throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (see README "Configuration")');
  const anyTls = Object.values(tls).some((v) => v !== undefined);
  if (anyTls || env.TEMPORAL_TLS === '1' || env.TEMPORAL_API_KEY) t.tls = tls;
  if (env.TEMPORAL_API_KEY) t.apiKey = env.TEMPORAL_API_KEY;
  if (env.COMMONS_TEMPORAL_UI_URL) {
    if (!/^https?:\/\/[^\s]+$/.test(env.COMMONS_TEMPORAL_UI_URL))
      throw new Error(`COMMONS_TEMPORAL_UI_URL must be an http(s) URL (got "${env.COMMONS_TEMPORAL_UI_URL}")`);
    t.uiUrl = env.COMMONS_TEMPORAL_UI_URL.replace(/\/+$/, '');
  }
  return t;
}
