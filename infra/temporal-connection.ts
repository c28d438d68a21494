import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { TemporalConfig } from './config.js';

/**
 * Connection options for Temporal, built from the configuration once for every process that
 * connects: the API (`Connection`), the workers (`NativeConnection`), and the test, bench and CLI
 * helpers. Both connection kinds take this shape (address, TLS, API key).
 */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

export function temporalConnectionOptions(
  t: TemporalConfig,
  readFile: (path: string) => Buffer = (p) => readFileSync(p),
): TemporalConnectionOptions {
  const out: TemporalConnectionOptions = { address: t.address };
  if (t.tls) {
    const tls: TLSConfig = {};
    if (t.tls.serverName) tls.serverNameOverride = t.tls.serverName;
    if (t.tls.caPath) tls.serverRootCACertificate = readFile(t.tls.caPath);
    if (t.tls.certPath && t.tls.keyPath)
      tls.clientCertPair = { crt: readFile(t.tls.certPath), key: readFile(t.tls.keyPath) };
    out.tls = tls;
  }
  if (t.apiKey) {
    out.apiKey = t.apiKey;
    out.tls ??= {};
  }
  return out;
}
