import { FastifyOtelInstrumentation } from '@fastify/otel';
import { traceLogFields } from '../infra/telemetry/log-fields.js';

/**
 * The request span of every route (`@fastify/otel`), continuing a caller's `traceparent`; the
 * workflow client, fetch and the workers' spans hang under it. Scrapes and probes are left out.
 */
export function requestTracing() {
  return new FastifyOtelInstrumentation({
    ignorePaths: (route) => route.url === '/metrics' || route.url === '/healthz',
    // The request and its handler; a span per hook (guards, auth) would cost more than it tells.
    instrumentHooks: false,
    // "POST /v1/proposals" rather than "request": what the backend lists and searches by.
    requestHook: (span, request) => span.updateName(`${request.method} ${request.routeOptions.url ?? ''}`.trim()),
  }).plugin();
}

/** The Fastify logger options with the active span's ids on each line (none when logging is off). */
export function withTraceIds(logger: boolean | object): boolean | object {
  if (logger === false) return false;
  return { ...(logger === true ? {} : logger), mixin: traceLogFields };
}
