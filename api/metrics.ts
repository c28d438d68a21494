import client from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type postgres from 'postgres';
import { countProposalsByStageStatus } from '../db/queries/proposals.js';
import { workflowReads } from './workflow-reads.js';
import { sharedReadComputations } from './shared-reads.js';
import { registerBusinessMetrics } from './business-metrics.js';

/**
 * Prometheus metrics: API latency by route, lifecycles by stage and status and the economy
 * (api/business-metrics.ts), both from Postgres at scrape time, plus Node's process metrics.
 * Paid calls are counted where they happen (api/paid-call-metrics.ts); workers export the
 * Temporal SDK's metrics themselves (workers/runtime.ts). docs/observability.md lists them all.
 */
export function registerMetrics(app: FastifyInstance, sql: postgres.Sql, opts: { cacheMs: number }): client.Registry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const latency = new client.Histogram({
    name: 'commons_api_request_duration_seconds',
    help: 'API request latency',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new client.Gauge({
    name: 'commons_lifecycles',
    help: 'Lifecycles by stage and status',
    labelNames: ['stage', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await countProposalsByStageStatus(sql)) this.set({ stage: r.stage, status: r.status }, r.count);
    },
  });
  registerBusinessMetrics(registry, sql, opts);
  new client.Counter({
    name: 'commons_api_workflow_reads_total',
    help: 'Workflow queries and describes sent to Temporal by this API process (status reads send none)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ kind: 'query' }, workflowReads.query);
      this.inc({ kind: 'describe' }, workflowReads.describe);
    },
  });
  new client.Counter({
    name: 'commons_api_shared_read_computations_total',
    help: 'Expensive public reads computed by this API process (Merkle trees, Datanet counts); the others were shared',
    labelNames: ['read'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [read, n] of Object.entries(sharedReadComputations)) this.inc({ read }, n);
    },
  });
  // One labelled child per (method, route, status), kept: observing it skips prom-client's
  // validating and hashing of the label set on every request (the paid endpoint's hot path).
  const children = new Map<string, client.Histogram.Internal<'method' | 'route' | 'status'>>();
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unknown';
    const key = `${req.method} ${reply.statusCode} ${route}`;
    let child = children.get(key);
    if (!child) {
      child = latency.labels({ method: req.method, route, status: String(reply.statusCode) });
      children.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  return registry;
}
