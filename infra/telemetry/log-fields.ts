import { isSpanContextValid, trace } from '@opentelemetry/api';

/**
 * The active span's ids for a log line (`trace_id`, `span_id`), so a line found in the logs opens
 * its trace in the backend; empty outside a span or with tracing off.
 */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const ctx = trace.getActiveSpan()?.spanContext();
  if (!ctx || !isSpanContextValid(ctx)) return {};
  return { trace_id: ctx.traceId, span_id: ctx.spanId };
}
