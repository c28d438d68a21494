import autocannon from 'autocannon';
import { treeCpuSeconds } from '../process-tree.js';

/**
 * The load generator of the inference benches, and what it costs: autocannon runs in the bench's
 * own process, on the same 2 cores as the server under test, Postgres and the stack, so every
 * figure is printed with the CPU each process spent per request while it ran (from /proc, this
 * process from process.cpuUsage). Connections are kept alive; `pipelining` > 1 sends that many
 * requests per connection before reading an answer (less client CPU per request).
 */
export interface LoadOptions {
  url: string;
  /** Request bodies, sent in turn on each connection (so a cache keyed by input would not help). */
  bodies: string[];
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
  pipelining?: number;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  /** CPU microseconds per answered request, by process kind (this process is "load generator"). */
  cpuPerRequest: Record<string, number>;
}

export async function httpLoad(o: LoadOptions): Promise<LoadResult> {
  const before = treeCpuSeconds();
  const self = process.cpuUsage();
  const r = await autocannon({
    url: o.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...o.headers },
    requests: o.bodies.map((body) => ({ body })),
    connections: o.connections,
    pipelining: o.pipelining ?? 1,
    duration: o.seconds,
  });
  const me = process.cpuUsage(self);
  const after = treeCpuSeconds();
  const total = Math.max(1, r.requests.total);
  const cpuPerRequest: Record<string, number> = { 'load generator (this process)': (me.user + me.system) / total };
  for (const [kind, t] of after) {
    // This process is counted from process.cpuUsage (microseconds), not /proc's 10 ms ticks.
    if (kind === 'bench (this process)') continue;
    const d = t - (before.get(kind) ?? 0);
    if (d > 0) cpuPerRequest[kind] = (d * 1e6) / total;
  }
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    cpuPerRequest,
  };
}

/** One line: the biggest CPU users per request during a load. */
export function cpuLine(r: LoadResult, top = 5): string {
  return Object.entries(r.cpuPerRequest)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => `${k.replace(/^node /, '')} ${v.toFixed(0)}`)
    .join(', ');
}
