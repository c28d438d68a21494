import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  NoopSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from '../config.js';

/** The process's tracing: what the API and the workers hand to their instrumentation. */
export interface Tracing {
  enabled: boolean;
  /** Where finished spans go (the workflow span sink feeds it the spans made in the sandbox). */
  processor: SpanProcessor;
  resource: Resource;
  tracer: Tracer;
  /** Exports what is buffered; the API and the workers call it when they stop. */
  flush(): Promise<void>;
}

/** No tracing: the no-op tracer, and a processor that drops what the workflow sink hands it. */
export const TRACING_OFF: Tracing = {
  enabled: false,
  processor: new NoopSpanProcessor(),
  resource: resourceFromAttributes({}),
  tracer: trace.getTracer('commons'),
  flush: async () => {},
};

let installed: Tracing | undefined;

/**
 * Installs the OpenTelemetry tracer provider once per process (the API and the workers share one
 * when a test or the demo runs both here): OTLP over http/protobuf to `cfg.tracesUrl`, W3C trace
 * context, and fetch spans (undici) so calls to an upstream model server carry `traceparent`.
 * Without a configured endpoint nothing is installed and every span is the API's no-op.
 * The SDK itself reads the other standard variables (OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_*).
 */
export function startTracing(cfg: TracingConfig | undefined, defaultServiceName: string): Tracing {
  if (installed) return installed;
  if (!cfg) return TRACING_OFF;
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: cfg.serviceName ?? defaultServiceName }).merge(
    // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (the latter already in cfg) over the default.
    detectResources({ detectors: [envDetector] }),
  );
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: cfg.tracesUrl }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  new UndiciInstrumentation().setTracerProvider(provider);
  installed = {
    enabled: true,
    processor,
    resource,
    tracer: trace.getTracer('commons'),
    flush: () => provider.forceFlush(),
  };
  return installed;
}
