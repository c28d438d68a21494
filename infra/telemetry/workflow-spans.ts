import type { SpanContext } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-node';

/**
 * The span a workflow's sink delivers: the interceptors' sandbox tracer is OpenTelemetry SDK 1.x,
 * which names the parent by id and the scope "instrumentation library".
 */
interface SandboxSpan extends Omit<ReadableSpan, 'parentSpanContext' | 'instrumentationScope'> {
  parentSpanId?: string;
  instrumentationLibrary: ReadableSpan['instrumentationScope'];
}

/**
 * A processor that takes the sandbox's spans in the shape of the SDK 2.x this process exports with
 * (parent span context, instrumentation scope) and hands them to `inner`. Without it the workflow's
 * spans would reach the backend as roots of their own traces.
 */
export function sandboxSpanProcessor(inner: SpanProcessor): SpanProcessor {
  return {
    onStart: () => {},
    onEnd(span) {
      const s = span as unknown as SandboxSpan;
      if (!('instrumentationLibrary' in s)) return inner.onEnd(span);
      const ctx = s.spanContext();
      const parentSpanContext: SpanContext | undefined = s.parentSpanId
        ? { traceId: ctx.traceId, spanId: s.parentSpanId, traceFlags: ctx.traceFlags }
        : undefined;
      const { parentSpanId: _id, instrumentationLibrary, ...rest } = s;
      inner.onEnd({
        ...rest,
        spanContext: () => ctx,
        parentSpanContext,
        instrumentationScope: instrumentationLibrary,
      });
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
  };
}
