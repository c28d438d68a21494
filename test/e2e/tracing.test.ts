import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant, proposalBody, uniqueId } from '../support/participants.js';
import { startJaeger, type LocalJaeger } from '../../infra/local/jaeger.js';
import type { CommonsClient } from '../../client/commons-client.js';

/** A span as Jaeger's query API (/api/v3, OTLP JSON) returns it. */
interface JaegerSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number | string;
  service: string;
}

/** Every span Jaeger holds for `traceId`, with the service that sent it ([] while it knows none). */
async function traceSpans(jaeger: LocalJaeger, traceId: string): Promise<JaegerSpan[]> {
  const res = await fetch(`${jaeger.uiUrl}/api/v3/traces/${traceId}`);
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`jaeger: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as {
    result: {
      resourceSpans: {
        resource: { attributes: { key: string; value: { stringValue?: string } }[] };
        scopeSpans: { spans: Omit<JaegerSpan, 'service'>[] }[];
      }[];
    };
  };
  return body.result.resourceSpans.flatMap((rs) => {
    const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
    return rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ ...s, service })));
  });
}

/**
 * One trace per request, through the real backend: a traced caller posts a proposal (its fetch
 * carries traceparent); the request span, the client's StartWorkflow, the lifecycle workflow's
 * spans and its activities' spans must all be found in Jaeger under the caller's trace id, each
 * under its parent. The caller is this process, which also runs the API and the workers.
 */
describe('one trace per request (OpenTelemetry to Jaeger)', () => {
  let jaeger: LocalJaeger;
  let app: TestApp;
  let dev: CommonsClient;
  const stateDir = mkdtempSync(join(tmpdir(), 'commons-jaeger-'));

  beforeAll(async () => {
    jaeger = await startJaeger({ stateDir });
    // The batch processor exports every 5 s by default; the SDK reads its delay from the environment.
    process.env.OTEL_BSP_SCHEDULE_DELAY = '200';
    app = await startTestApp({
      workers: ['lifecycle', 'data'],
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint, OTEL_SERVICE_NAME: 'commons-tracing-test' },
    });
    dev = await participant(app.url, ['developer'], { OPEN: '100000' });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    await jaeger?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("holds the proposal's request, its workflow and its activities in the caller's trace", async () => {
    const id = uniqueId('trace');
    const caller = await trace.getTracer('tracing-test').startActiveSpan('caller', async (span) => {
      await dev.propose(proposalBody(id, { governance: { votingPeriodMs: 600_000 } }));
      span.end();
      return span.spanContext();
    });
    const traceId = caller.traceId;
    // The workflow's own span is exported when its run ends: withdraw the proposal (another request).
    await eventually(async () => ((await dev.proposal(id)).stage === 'governance' ? true : undefined), 60_000);
    await dev.withdraw(id);

    let seen: string[] = [];
    const spans = await eventually(async () => {
      const s = await traceSpans(jaeger, traceId);
      seen = s.map((x) => x.name);
      return s.some((x) => x.name.startsWith('RunActivity:')) && s.some((x) => x.name.startsWith('RunWorkflow:'))
        ? s
        : undefined;
    }, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; trace ${traceId} holds [${seen.join(', ')}]`, { cause: err });
    });
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (s: JaegerSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);

    const ancestors = (s: JaegerSpan) => {
      const chain: JaegerSpan[] = [];
      for (let up = parentOf(s); up; up = parentOf(up)) chain.push(up);
      return chain;
    };
    // The HTTP request span, under the caller's span (through its fetch's traceparent).
    const request = spans.find((s) => s.name === 'POST /v1/proposals');
    expect(ancestors(request!).map((a) => a.spanId)).toContain(caller.spanId);
    // StartWorkflow made by the API's client, inside the request.
    const start = spans.find((s) => s.name === 'StartWorkflow:lifecycleWorkflow');
    expect(start).toBeDefined();
    expect(ancestors(start!)).toContain(request);
    // The workflow's run, under StartWorkflow (through the workflow's headers).
    const run = spans.find((s) => s.name === 'RunWorkflow:lifecycleWorkflow');
    expect(run?.parentSpanId).toBe(start!.spanId);
    // Each activity run under the workflow's StartActivity of the same activity.
    const activities = spans.filter((s) => s.name.startsWith('RunActivity:'));
    expect(activities.length).toBeGreaterThan(0);
    for (const a of activities) {
      const scheduled = parentOf(a);
      expect(scheduled?.name).toBe(a.name.replace('RunActivity:', 'StartActivity:'));
      expect(parentOf(scheduled!)).toBe(run);
    }
  }, 180_000);
});
