import { fileURLToPath } from 'node:url';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import { sandboxSpanProcessor } from './workflow-spans.js';
import type { Tracing } from './tracing.js';

/**
 * The workflow interceptors module (workflows/tracing-interceptors.ts): bundled into the workflow
 * code whether or not tracing is on, so turning tracing on or off never changes what a workflow
 * does on replay.
 */
export const workflowInterceptorModules = [
  fileURLToPath(new URL('../../workflows/tracing-interceptors.ts', import.meta.url)),
];

/** The client interceptor that opens a span per start, signal, update or query and carries it in the headers. */
export function tracingClientInterceptors(tracing: Tracing): WorkflowClientInterceptor[] {
  return tracing.enabled ? [new OpenTelemetryWorkflowClientInterceptor()] : [];
}

/**
 * What a worker needs to continue the caller's trace: activity spans (with trace ids on the
 * activity's log lines) and the sink that exports the spans workflows make in their sandbox. The
 * sink is registered with tracing off too (a no-op there): the bundled workflow interceptors call it.
 */
export function tracingWorkerOptions(tracing: Tracing): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  return {
    interceptors: tracing.enabled
      ? {
          activity: [
            (ctx) => ({
              inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
              outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
            }),
          ],
        }
      : {},
    sinks: {
      // The interceptors package types the processor with its own SDK 1.x; the spans are adapted in it.
      exporter: makeWorkflowExporter(
        sandboxSpanProcessor(tracing.processor) as unknown as Parameters<typeof makeWorkflowExporter>[0],
        tracing.resource,
      ),
    },
  };
}
