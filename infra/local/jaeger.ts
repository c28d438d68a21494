import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGoTool } from './go-tools.js';
import { freePort, waitFor } from './ports.js';

export interface LocalJaeger {
  /** OTLP/HTTP base URL: what OTEL_EXPORTER_OTLP_ENDPOINT is set to. */
  otlpEndpoint: string;
  /** The UI and the query API (/api/v3/traces, /api/traces). */
  uiUrl: string;
  stop(): Promise<void>;
}

/**
 * The collector and query service of Jaeger v2 in one process: OTLP over HTTP in, traces kept in
 * memory (a restart forgets them; this is a development backend), every port on 127.0.0.1.
 */
function jaegerConfig(p: { otlp: number; query: number; queryGrpc: number }): object {
  return {
    service: {
      extensions: ['jaeger_storage', 'jaeger_query'],
      pipelines: {
        traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] },
      },
      // No self-metrics endpoint: its fixed port would clash with a second stack.
      telemetry: { metrics: { level: 'none' }, logs: { level: 'warn' } },
    },
    extensions: {
      jaeger_storage: { backends: { memstore: { memory: { max_traces: 100_000 } } } },
      jaeger_query: {
        storage: { traces: 'memstore' },
        http: { endpoint: `127.0.0.1:${p.query}` },
        grpc: { endpoint: `127.0.0.1:${p.queryGrpc}` },
      },
    },
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${p.otlp}` } } } },
    processors: { batch: { timeout: '200ms' } },
    exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
  };
}

/** Starts Jaeger (built from its Go module on first use) with its config under `stateDir`. */
export async function startJaeger(opts: {
  stateDir: string;
  ports?: { otlp?: number; ui?: number };
  log?: (m: string) => void;
}): Promise<LocalJaeger> {
  const bin = await ensureGoTool('jaeger', opts.log);
  mkdirSync(opts.stateDir, { recursive: true });
  const ports = {
    otlp: opts.ports?.otlp ?? (await freePort()),
    query: opts.ports?.ui ?? (await freePort()),
    queryGrpc: await freePort(),
  };
  // JSON is YAML: the collector's config loader reads it as is.
  const configFile = join(opts.stateDir, 'jaeger.json');
  writeFileSync(configFile, JSON.stringify(jaegerConfig(ports)));
  const child: ChildProcess = spawn(bin, ['--config', `file:${configFile}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const uiUrl = `http://127.0.0.1:${ports.query}`;
  await waitFor('jaeger', async () => {
    if (child.exitCode !== null) throw new Error(`jaeger exited (${child.exitCode}): ${stderr}`);
    return (await fetch(`${uiUrl}/api/services`)).ok;
  });
  return {
    otlpEndpoint: `http://127.0.0.1:${ports.otlp}`,
    uiUrl,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
