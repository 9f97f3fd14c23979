// OpenTelemetry tracing: one trace from the signup request, through the job (BullMQ carries the
// trace context inside the job, via bullmq-otel), to the provider call the job makes.
//
// Spans are always created through the global API, which costs next to nothing until a tracer
// provider is registered. startTracing registers one, exporting over OTLP/HTTP, only when
// OTEL_EXPORTER_OTLP_ENDPOINT is configured. The avatar's sandboxed child process is not traced:
// its storage call has no parent context to join.
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { BullMQOtel } from 'bullmq-otel';

export const tracer = trace.getTracer('signup');

/** For every Queue and Worker: BullMQ's producer and consumer spans, and context carried in jobs. */
export function queueTelemetry(): BullMQOtel {
  return new BullMQOtel({ tracerName: 'signup-bullmq' });
}

export interface Tracing {
  shutdown(): Promise<void>;
}

/** Registers the SDK for this process when an endpoint is configured; otherwise does nothing. */
export async function startTracing(serviceName: string, endpoint: string | undefined): Promise<Tracing | undefined> {
  if (!endpoint) return undefined;
  // Loaded only when tracing is on: the SDK brings every exporter it supports (gRPC, protobuf,
  // Zipkin, Prometheus), measured at 28 MB of V8 heap and 55 MB of RSS, which every process that
  // imports this module for the global API alone (the avatar sandboxes too) would otherwise carry
  // without tracing anything.
  const [{ NodeSDK }, { OTLPTraceExporter }, { HttpInstrumentation }, { UndiciInstrumentation }, { PrismaInstrumentation }] =
    await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/instrumentation-http'),
      import('@opentelemetry/instrumentation-undici'),
      import('@prisma/instrumentation'),
    ]);
  const sdk = new NodeSDK({
    serviceName,
    traceExporter: new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }),
    // Incoming and outgoing HTTP, fetch (the provider calls) and Prisma's queries.
    instrumentations: [new HttpInstrumentation(), new UndiciInstrumentation(), new PrismaInstrumentation()],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

/** Runs `work` in a new active span, recording an error and ending the span either way. */
export async function inSpan<T>(
  name: string,
  { kind = SpanKind.INTERNAL, attributes }: { kind?: SpanKind; attributes?: Attributes },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}
