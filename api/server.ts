import Fastify, { type FastifyInstance } from 'fastify';
import { WorkflowNotFoundError } from '@temporalio/client';
import swagger from '@fastify/swagger';
import { Counter, Gauge } from 'prom-client';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { HttpError } from './errors.js';
import { DEFAULT_BODY_LIMIT, inputFaultOf, installRequestGuards } from './request-guards.js';
import { installValidation } from './validation.js';
import { registerDeploymentRoute } from './deployment.js';
import { registerMetrics } from './metrics.js';
import { paidCallMeter } from './paid-call-metrics.js';
import { accountRoutes } from './routes/accounts.js';
import { proposalRoutes } from './routes/proposals.js';
import { timelineRoutes } from './routes/timeline.js';
import { datanetRoutes } from './routes/datanets.js';
import { explorerRoutes } from './routes/explorer.js';
import { curationRoutes } from './routes/curation.js';
import { recordReadRoutes } from './routes/record-reads.js';
import { reviewRoutes } from './routes/reviews.js';
import { modelRoutes } from './routes/models.js';
import { protocolRoutes } from './routes/protocol.js';
import { consoleRoutes } from './console/console-routes.js';
import { PredictorRegistry } from '../ml/serving/predictor.js';
import { upstreamPredictor } from '../ml/serving/upstream-predictor.js';
import { ModelCache } from './inference/model-cache.js';
import { FeeGroupCommit } from './inference/group-commit.js';
import { erasureRoutes } from './routes/erasure.js';
import { PaidCalls } from './inference/paid-calls.js';
import { openaiRoutes } from './routes/openai.js';
import { mcpEndpoint } from '../mcp/http-endpoint.js';
import { receiptRoutes } from './routes/receipts.js';
import type { ApiContext } from './context.js';
import { pingDatabase } from '../db/queries/health.js';
import { HealthResponse, LivenessResponse } from './schemas/ops.js';
import type { Tracing } from '../infra/telemetry/tracing.js';
import { requestTracing, withTraceIds } from './tracing.js';

export interface BuiltServer {
  app: FastifyInstance;
  /** Flushes batched ledger writes; call before exit. */
  close(): Promise<void>;
}

export async function buildServer(
  ctx: ApiContext,
  opts: { logger?: boolean | object; tracing?: Tracing } = {},
): Promise<BuiltServer> {
  const app = Fastify({
    logger: withTraceIds(opts.logger ?? { level: ctx.cfg.logLevel ?? 'info' }),
    bodyLimit: DEFAULT_BODY_LIMIT,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Before every route and hook, so each request's span is the parent of what it starts.
  if (opts.tracing?.enabled) await app.register(requestTracing());

  installRequestGuards(app, ctx.deploymentId, ctx.cfg.api.adminAddresses);
  installValidation(app);

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown; code?: string }, req, reply) => {
    if (err instanceof HttpError) {
      if (err.statusCode === 429 && (err.details as { retryAfterSeconds?: number })?.retryAfterSeconds)
        reply.header('retry-after', String((err.details as { retryAfterSeconds: number }).retryAfterSeconds));
      return reply.code(err.statusCode).send({ error: err.message, details: err.details });
    }
    if (err.validation) return reply.code(400).send({ error: `invalid request: ${err.message}` });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
      return reply.code(err.statusCode).send({ error: err.message });
    // A signal or query to a workflow that has completed (or never started): the resource is closed.
    if (err instanceof WorkflowNotFoundError)
      return reply.code(409).send({ error: 'refused: the workflow behind this resource is no longer running' });
    const fault = inputFaultOf(err);
    if (fault) {
      req.log.warn({ err }, 'input refused by the database (a schema should have refused it)');
      return reply.code(400).send({ error: fault });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: 'internal error' });
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Commons API',
        version: '0.1.0',
        description:
          'Community-built AI model lifecycles on Temporal. State-changing requests are signed with Ed25519 (x-commons-* headers).',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const metrics = registerMetrics(app, ctx.sql, { cacheMs: ctx.cfg.api.metricsCacheMs });
  const modelLoads = new Counter({
    name: 'commons_model_loads_total',
    help: 'Model versions loaded from S3 (or tried): only authenticated inference calls may cause one',
    registers: [metrics],
  });
  // Which attribution each loaded version answers with (exact TracIn, the ANN index, retrieval)
  // and over how many training records: what an operator checks after a large version is promoted.
  const attributionRecords = new Gauge({
    name: 'commons_attribution_records',
    help: 'Training records behind the attribution of each loaded model version, by attribution mode',
    labelNames: ['model', 'version', 'mode'] as const,
    registers: [metrics],
  });
  registerDeploymentRoute(app, ctx.deploymentId);
  // Liveness: the process serves HTTP. Kept apart from /healthz so a Postgres or Temporal outage
  // takes pods out of the Service (readiness) without restarting them all (liveness).
  app.get(
    '/livez',
    { schema: { summary: 'Liveness: the process serves HTTP', tags: ['ops'], response: { 200: LivenessResponse } } },
    (_req, reply) => {
      void reply.send({ ok: true as const });
    },
  );
  const health = {
    summary: 'Readiness: Postgres and Temporal answer',
    tags: ['ops'],
    response: { 200: HealthResponse, 503: HealthResponse },
  };
  app.get('/healthz', { schema: health }, async (_req, reply) => {
    const checks: Record<string, string> = {};
    await pingDatabase(ctx.sql)
      .then(() => (checks.postgres = 'ok'))
      .catch((e: Error) => (checks.postgres = e.message));
    await ctx.temporal.connection.workflowService
      .getSystemInfo({})
      .then(() => (checks.temporal = 'ok'))
      .catch((e: Error) => (checks.temporal = e.message));
    const ok = Object.values(checks).every((v) => v === 'ok');
    return reply.code(ok ? 200 : 503).send({ ok, checks });
  });

  const fees = new FeeGroupCommit(ctx.sql, { onError: (err) => app.log.error({ err }, 'fee group commit') });
  const predictors = new PredictorRegistry({
    exactAttributionMaxRecords: ctx.cfg.attribution.exactMaxRecords,
    ...(ctx.cfg.attribution.indexCacheDir ? { indexCacheDir: ctx.cfg.attribution.indexCacheDir } : {}),
  });
  if (ctx.cfg.inferenceUpstream) {
    // Versions the external trainer made are answered by the upstream, whatever their task.
    const upstream = upstreamPredictor(ctx.cfg.inferenceUpstream);
    predictors.register('external-classification', upstream).register('external-generation', upstream);
  }
  const cache = new ModelCache(ctx.sql, ctx.store, {
    predictors,
    onLoad: () => modelLoads.inc(),
    onLoaded: ({ modelName, version, predictor }) => {
      if (predictor.attributionRecords === undefined) return;
      attributionRecords.set(
        { model: modelName, version: String(version), mode: predictor.attributionMode ?? predictor.kind },
        predictor.attributionRecords,
      );
    },
  });
  const paid = new PaidCalls(ctx.sql, ctx.ledger, fees, cache, paidCallMeter(metrics));
  await app.register(accountRoutes(ctx));
  await app.register(proposalRoutes(ctx));
  await app.register(timelineRoutes(ctx));
  await app.register(datanetRoutes(ctx));
  await app.register(explorerRoutes(ctx));
  await app.register(curationRoutes(ctx));
  await app.register(recordReadRoutes(ctx));
  await app.register(reviewRoutes(ctx));
  await app.register(modelRoutes(ctx, { cache, paid }));
  await app.register(openaiRoutes(ctx, { cache, paid }));
  await app.register(mcpEndpoint);
  await app.register(erasureRoutes(ctx, { paid }));
  await app.register(receiptRoutes(ctx));
  await app.register(protocolRoutes(ctx));
  await app.register(consoleRoutes(ctx));
  app.addHook('onClose', async () => fees.close());
  return { app, close: () => app.close() };
}
