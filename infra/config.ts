import { readFileSync } from 'node:fs';
import { protocolSettingsFrom, type ProtocolSettings } from '../domain/protocol/settings.js';

/** Configuration shared by the workers and the API, read from the environment alone. */
export interface TemporalConfig {
  address: string;
  namespace: string;
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

export interface CommonsConfig {
  temporal: TemporalConfig;
  databaseUrl: string;
  s3: { endpoint?: string; region: string; bucket: string; accessKeyId?: string; secretAccessKey?: string };
  api: { host: string; port: number; publicUrl: string };
  /** Enables the dev-only faucet route (mints anything, unsigned): only with COMMONS_DEV_FAUCET=1. */
  devFaucet: boolean;
  /** The rules of the game (README "Protocol settings"): admin configuration, validated at start. */
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
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new Error(`${name} is not set (see README "Configuration")`);
  return v;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): CommonsConfig {
  const port = Number(env.API_PORT ?? 8080);
  const host = env.API_HOST ?? '127.0.0.1';
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
    api: { host, port, publicUrl: env.API_PUBLIC_URL ?? `http://${host}:${port}` },
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
  };
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
      `invalid protocol settings${file ? ` in ${file}` : ''} (README "Protocol settings"): ${errors.join('; ')}`,
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
  return t;
}
