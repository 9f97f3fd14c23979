// OpenTelemetry tracing: one trace from the signup request, through the job (BullMQ carries the
// trace context inside the job, via bullmq-otel), to the provider call the job makes.
//
// Spans are always created through the global API, which costs next to nothing until a tracer
// provider is registered. startTracing registers one, exporting over OTLP/HTTP, only when
// OTEL_EXPORTER_OTLP_ENDPOINT is configured. The avatar's sandboxed child process starts its own.
// Work sent to a queue after its request is over (the outbox relay, the reconciler, a replay) finds
// its trace in what was stored with it: docs/architecture.md#one-trace-per-signup says which path
// continues the stored trace and which starts its own with a link.
//
// Every span leaves the process through redactingExporter(): the HTTP instrumentation and Next's
// own spans record the request's path (/welcome/<token>, /verify/<token>), and a token in a
// trace is a key to someone's account in the hands of everyone who reads traces. Paths are
// recorded as their route's template instead (/welcome/[token]).
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { BullMQOtel } from 'bullmq-otel';
import { redactTokens } from '@/lib/access-tokens';

export const tracer = trace.getTracer('signup');

/** For every Queue and Worker: BullMQ's producer and consumer spans, and context carried in jobs. */
export function queueTelemetry(): BullMQOtel {
  return new BullMQOtel({ tracerName: 'signup-bullmq' });
}

export interface Tracing {
  shutdown(): Promise<void>;
}

/**
 * Registers the SDK for this process when an endpoint is configured; otherwise does nothing.
 * `exportEveryMs` shortens the batch's wait (5 s by default) for a process that may be killed
 * between jobs and would lose what it had not sent: the avatar sandbox.
 */
export async function startTracing(
  serviceName: string,
  endpoint: string | undefined,
  { exportEveryMs }: { exportEveryMs?: number } = {},
): Promise<Tracing | undefined> {
  if (!endpoint) return undefined;
  // Loaded only when tracing is on: the SDK brings every exporter it supports (gRPC, protobuf,
  // Zipkin, Prometheus), measured at 28 MB of V8 heap and 55 MB of RSS, which every process that
  // imports this module for the global API alone (the avatar sandboxes too) would otherwise carry
  // without tracing anything.
  const [{ NodeSDK }, { BatchSpanProcessor }, { OTLPTraceExporter }, { HttpInstrumentation }, { UndiciInstrumentation }, { PrismaInstrumentation }] =
    await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/instrumentation-http'),
      import('@opentelemetry/instrumentation-undici'),
      import('@prisma/instrumentation'),
    ]);
  const exporter = redactingExporter(new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }));
  const sdk = new NodeSDK({
    serviceName,
    spanProcessors: [new BatchSpanProcessor(exporter, exportEveryMs ? { scheduledDelayMillis: exportEveryMs } : {})],
    // Incoming and outgoing HTTP, fetch (the provider calls) and Prisma's queries.
    instrumentations: [new HttpInstrumentation(), new UndiciInstrumentation(), new PrismaInstrumentation()],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

/**
 * Runs `work` in a new active span, recording an error and ending the span either way. `root`
 * starts a trace of its own whatever is active; `links` point at spans of other traces.
 */
export async function inSpan<T>(
  name: string,
  { kind = SpanKind.INTERNAL, attributes, links, root }: { kind?: SpanKind; attributes?: Attributes; links?: Link[]; root?: boolean },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes, links, root }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * The active span's W3C trace context, as an outbox row stores it: the JSON of its `traceparent`
 * and, when there is one, its `tracestate`, the format bullmq-otel keeps in a job
 * (opts.telemetry.metadata). Null while no span is active, which is always with tracing off, so
 * storing it then costs one lookup. Baggage is left out: anyone upstream may have put anything in it.
 */
export function activeTraceContext(): string | null {
  const span = trace.getActiveSpan();
  return span && isSpanContextValid(span.spanContext()) ? traceContextOf(context.active()) : null;
}

function traceContextOf(ctx: Context): string | null {
  const carrier: { traceparent?: string; tracestate?: string } = {};
  propagation.inject(ctx, carrier);
  if (!carrier.traceparent) return null;
  return JSON.stringify(carrier.tracestate ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate } : { traceparent: carrier.traceparent });
}

/**
 * The context a stored trace context (activeTraceContext's, or a job's telemetry metadata) names;
 * undefined when there is none, it cannot be read, or tracing is off.
 */
export function storedTraceContext(stored: string | null | undefined): Context | undefined {
  if (!stored) return undefined;
  let carrier: unknown;
  try {
    carrier = JSON.parse(stored);
  } catch {
    return undefined;
  }
  if (typeof carrier !== 'object' || carrier === null) return undefined;
  const { traceparent, tracestate } = carrier as Record<string, unknown>;
  if (typeof traceparent !== 'string') return undefined;
  const extracted = propagation.extract(ROOT_CONTEXT, typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent });
  const spanContext = trace.getSpanContext(extracted);
  return spanContext && isSpanContextValid(spanContext) ? extracted : undefined;
}

function storedSpanContext(stored: string | null | undefined): SpanContext | undefined {
  const ctx = storedTraceContext(stored);
  return ctx && trace.getSpanContext(ctx);
}

/** Links to each stored trace context that can be read: for a span covering many rows or letters. */
export function linksTo(stored: ReadonlyArray<string | null | undefined>): Link[] {
  return stored.flatMap((one) => {
    const spanContext = storedSpanContext(one);
    return spanContext ? [{ context: spanContext }] : [];
  });
}

/** Runs `work` in a new active span that continues the stored trace (a new trace without one). */
export function inStoredTrace<T>(
  stored: string | null | undefined,
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = storedTraceContext(stored);
  return parent ? context.with(parent, () => inSpan(name, options, work)) : inSpan(name, options, work);
}

/**
 * How a job sent again relates to the trace stored with it:
 *   continue  its spans stay in the stored trace, linked to the dispatcher's span: it is still the
 *             request's work, sent late (the outbox relay, the reconciler);
 *   link      its spans are in the dispatcher's trace, linked to the stored one: someone decided to
 *             run it again (a replay).
 */
export type Redispatch = 'continue' | 'link';

export interface RedispatchSpans {
  /** Per job, in order: its opts.telemetry.metadata, so its consumer span follows its producer span. */
  metadata: Array<string | undefined>;
  end(error?: unknown): void;
}

/**
 * One producer span per job sent again from a stored trace context, `<verb> <queue>.<job>`, under
 * the dispatcher's active span. A job without a readable stored context gets none and is left to
 * BullMQ's own span. End them once the add has answered.
 */
export function redispatchSpans(
  verb: string,
  how: Redispatch,
  jobs: ReadonlyArray<{ queue: string; jobName: string; traceContext?: string | null }>,
): RedispatchSpans {
  const dispatcher = trace.getActiveSpan()?.spanContext();
  const toDispatcher = dispatcher && isSpanContextValid(dispatcher) ? [{ context: dispatcher }] : [];
  const spans = jobs.map((job) => {
    const stored = storedTraceContext(job.traceContext);
    const storedSpan = stored && trace.getSpanContext(stored);
    if (!stored || !storedSpan) return undefined;
    const name = `${verb} ${job.queue}.${job.jobName}`;
    return how === 'continue'
      ? tracer.startSpan(name, { kind: SpanKind.PRODUCER, links: toDispatcher }, stored)
      : tracer.startSpan(name, { kind: SpanKind.PRODUCER, links: [{ context: storedSpan }] });
  });
  return {
    metadata: spans.map((span) => (span ? (traceContextOf(trace.setSpan(ROOT_CONTEXT, span)) ?? undefined) : undefined)),
    end(error) {
      for (const span of spans) {
        if (!span) continue;
        if (error !== undefined) failSpan(span, error);
        span.end();
      }
    },
  };
}

/**
 * `exporter`, handed each span with the tokens in its name, attributes, events and status replaced
 * by their route's placeholder. Ended spans are read-only, so each is shown to the exporter through
 * a view that overrides those four and inherits the rest.
 */
export function redactingExporter(exporter: SpanExporter): SpanExporter {
  return {
    export: (spans, done) => exporter.export(spans.map(redactedView), done),
    shutdown: () => exporter.shutdown(),
    ...(exporter.forceFlush ? { forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve() } : {}),
  };
}

function redactedView(span: ReadableSpan): ReadableSpan {
  return Object.create(span, {
    name: { value: redactTokens(span.name) },
    attributes: { value: redactAttributes(span.attributes) },
    events: { value: span.events.map((event) => ({ ...event, ...(event.attributes ? { attributes: redactAttributes(event.attributes) } : {}) })) },
    status: { value: span.status.message ? { ...span.status, message: redactTokens(span.status.message) } : span.status },
  }) as ReadableSpan;
}

function redactAttributes(attributes: Attributes): Attributes {
  const redacted: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'string') redacted[key] = redactTokens(value);
    else if (Array.isArray(value)) {
      redacted[key] = value.map((item) => (typeof item === 'string' ? redactTokens(item) : item)) as typeof value;
    } else redacted[key] = value;
  }
  return redacted;
}
