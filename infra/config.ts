/** Configuration shared by the workers and the API, read from the environment alone. */
export interface CommonsConfig {
  temporal: { address: string; namespace: string };
  databaseUrl: string;
  s3: { endpoint?: string; region: string; bucket: string; accessKeyId?: string; secretAccessKey?: string };
  api: { host: string; port: number; publicUrl: string };
  /** Enables the dev-only faucet route. */
  devFaucet: boolean;
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
    temporal: { address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', namespace: env.TEMPORAL_NAMESPACE ?? 'default' },
    databaseUrl: required(env, 'DATABASE_URL'),
    s3: {
      endpoint: env.S3_ENDPOINT || undefined,
      region: env.S3_REGION ?? 'us-east-1',
      bucket: env.S3_BUCKET ?? 'commons',
      accessKeyId: env.S3_ACCESS_KEY_ID || undefined,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY || undefined,
    },
    api: { host, port, publicUrl: env.API_PUBLIC_URL ?? `http://${host}:${port}` },
    devFaucet: env.COMMONS_DEV_FAUCET === '1' || env.NODE_ENV !== 'production',
  };
}
