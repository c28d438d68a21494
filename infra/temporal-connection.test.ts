import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { temporalConnectionOptions } from './temporal-connection.js';

const base = { DATABASE_URL: 'postgres://x' };
const files: Record<string, string> = { '/tls/ca.pem': 'CA', '/tls/client.pem': 'CRT', '/tls/client.key': 'KEY' };
const readFile = (p: string) => {
  const text = files[p];
  if (text === undefined) throw new Error(`no file ${p}`);
  return Buffer.from(text);
};
const options = (env: Record<string, string>) =>
  temporalConnectionOptions(loadConfig({ ...base, ...env }).temporal, readFile);

describe('Temporal connection options from the environment', () => {
  it('is a plain address with no TLS variables (local dev server)', () => {
    expect(options({ TEMPORAL_ADDRESS: 'temporal:7233' })).toEqual({ address: 'temporal:7233' });
    expect(loadConfig(base).temporal.namespace).toBe('default');
  });

  it('reads mTLS client certificate, key, CA and server name from files', () => {
    const o = options({
      TEMPORAL_ADDRESS: 'prod.tmprl.example:7233',
      TEMPORAL_NAMESPACE: 'commons.prod',
      TEMPORAL_TLS_CERT: '/tls/client.pem',
      TEMPORAL_TLS_KEY: '/tls/client.key',
      TEMPORAL_TLS_CA: '/tls/ca.pem',
      TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
    });
    expect(o.address).toBe('prod.tmprl.example:7233');
    expect(o.apiKey).toBeUndefined();
    expect(o.tls?.serverNameOverride).toBe('frontend.internal');
    expect(Buffer.from(o.tls!.serverRootCACertificate!).toString()).toBe('CA');
    expect(Buffer.from(o.tls!.clientCertPair!.crt).toString()).toBe('CRT');
    expect(Buffer.from(o.tls!.clientCertPair!.key).toString()).toBe('KEY');
  });

  it('turns TLS on with system roots for a Temporal Cloud API key', () => {
    const o = options({ TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233', TEMPORAL_API_KEY: 'secret' });
    expect(o).toEqual({ address: 'us-east-1.aws.api.temporal.io:7233', tls: {}, apiKey: 'secret' });
    expect(options({ TEMPORAL_TLS: '1' }).tls).toEqual({});
  });

  it('refuses a client certificate without its key, and a file that cannot be read', () => {
    expect(() => options({ TEMPORAL_TLS_CERT: '/tls/client.pem' })).toThrow(/TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY/);
    expect(() => options({ TEMPORAL_TLS_CA: '/tls/missing.pem' })).toThrow(/no file/);
  });
});
