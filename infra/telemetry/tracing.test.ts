import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind, TraceFlags } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { loadConfig } from '../config.js';
import { startTracing } from './tracing.js';
import { traceLogFields } from './log-fields.js';
import { sandboxSpanProcessor } from './workflow-spans.js';

// One HTTP server plays both parts: the upstream model server a fetch calls, and the OTLP receiver
// the spans are posted to.
const received: { path: string; traceparent?: string; contentType?: string; bytes: number }[] = [];
const server = createServer((req: IncomingMessage, res) => {
  let bytes = 0;
  req.on('data', (d: Buffer) => (bytes += d.length));
  req.on('end', () => {
    received.push({
      path: req.url ?? '',
      traceparent: req.headers.traceparent as string | undefined,
      contentType: req.headers['content-type'],
      bytes,
    });
    res.end('{}');
  });
});
let base = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const env = { DATABASE_URL: 'postgres://x' };

describe('tracing configuration', () => {
  it('is off without an OTLP endpoint, and when the SDK or the exporter is turned off', () => {
    expect(loadConfig(env).tracing).toBeUndefined();
    const on = { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' };
    expect(loadConfig({ ...on, OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
    expect(loadConfig({ ...on, OTEL_TRACES_EXPORTER: 'none' }).tracing).toBeUndefined();
  });

  it('posts to <endpoint>/v1/traces, or to the traces endpoint as given, under OTEL_SERVICE_NAME', () => {
    expect(loadConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/' }).tracing).toEqual({
      tracesUrl: 'http://jaeger:4318/v1/traces',
    });
    expect(
      loadConfig({
        ...env,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector/otlp/traces',
        OTEL_SERVICE_NAME: 'commons-api-eu',
      }).tracing,
    ).toEqual({ tracesUrl: 'https://collector/otlp/traces', serviceName: 'commons-api-eu' });
  });

  it('refuses what it cannot export, naming the variable', () => {
    const on = { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' };
    expect(() => loadConfig({ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
    expect(() => loadConfig({ ...on, OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER/);
    expect(() => loadConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'jaeger:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });
});

describe('the process tracer', () => {
  it('puts the caller span on an upstream fetch (traceparent) and exports the spans over OTLP', async () => {
    const tracing = startTracing({ tracesUrl: `${base}/v1/traces` }, 'commons-test');
    expect(tracing.enabled).toBe(true);
    const caller = await tracing.tracer.startActiveSpan('caller', async (span) => {
      expect(traceLogFields()).toEqual({ trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
      await fetch(`${base}/v1/chat/completions`, { method: 'POST', body: '{}' });
      span.end();
      return span.spanContext();
    });
    expect(traceLogFields()).toEqual({});
    const upstream = received.find((r) => r.path === '/v1/chat/completions');
    const [, traceId, parentId] = upstream?.traceparent?.split('-') ?? [];
    expect(traceId).toBe(caller.traceId);
    // The fetch's own client span, a child of the caller's.
    expect(parentId).toMatch(/^[0-9a-f]{16}$/);
    expect(parentId).not.toBe(caller.spanId);
    await tracing.flush();
    const exported = received.filter((r) => r.path === '/v1/traces');
    expect(exported.length).toBeGreaterThan(0);
    expect(exported[0]!.contentType).toBe('application/x-protobuf');
    expect(exported[0]!.bytes).toBeGreaterThan(0);
  });
});

describe("the workflow sandbox's spans", () => {
  it('reach the exporter with their parent and scope in the shape of the process SDK', () => {
    const memory = new InMemorySpanExporter();
    const processor = sandboxSpanProcessor(new SimpleSpanProcessor(memory));
    const ctx = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.SAMPLED };
    // What makeWorkflowExporter hands over: SDK 1.x field names.
    const sandboxSpan = {
      name: 'RunWorkflow:lifecycleWorkflow',
      kind: SpanKind.INTERNAL,
      spanContext: () => ctx,
      parentSpanId: 'c'.repeat(16),
      instrumentationLibrary: { name: '@temporalio/interceptor-workflow' },
      startTime: [1, 0],
      endTime: [2, 0],
      duration: [1, 0],
      ended: true,
      status: { code: 0 },
      attributes: {},
      links: [],
      events: [],
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
      resource: resourceFromAttributes({}),
    };
    processor.onEnd(sandboxSpan as never);
    const [span] = memory.getFinishedSpans();
    expect(span?.parentSpanContext).toEqual({ traceId: ctx.traceId, spanId: 'c'.repeat(16), traceFlags: 1 });
    expect(span?.instrumentationScope).toEqual({ name: '@temporalio/interceptor-workflow' });
    expect(span?.spanContext()).toEqual(ctx);
  });
});
