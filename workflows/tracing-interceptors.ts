// Workflow interceptors for OpenTelemetry: a span for the run, each signal, update and query, and
// each activity or child scheduled, parented on the trace the starting request carried in the
// headers. Spans leave the sandbox through the `exporter` sink (infra/telemetry/temporal.ts).
export { interceptors } from '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors.js';
