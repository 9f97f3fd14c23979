// One trace from the signup request, through the job, to the provider call: BullMQ carries the
// trace context inside the job (bullmq-otel), so the worker's span continues the request's trace.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleSignupRequest } from '@/app/_signup/signup-request';
import { newToken } from '@/lib/access-tokens';
import { redactingExporter, startTracing } from '@/lib/tracing';
import { RateLimiter } from '@/app/_signup/rate-limiter';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

let stack: TestStack;
let workers: RunningWorkers;

beforeAll(async () => {
  provider.register();
  stack = await startTestStack({ WORKER_QUEUES: 'crm' });
  workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
});
afterAll(async () => {
  await workers.close(5_000);
  await stack.close();
  await provider.shutdown();
});

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('tracing', () => {
  it('links the signup request span to the job span to the provider call span, in one trace', async () => {
    const response = await handleSignupRequest(
      new Request('http://app.test/api/signups', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(uniqueSignup()),
      }),
      { pool: stack.pool, queues: stack.queues, limiter: new RateLimiter(0), log: quietLog, followUpDelayMs: stack.config.followUpDelayMs },
    );
    expect(response.status).toBe(201);
    const { id: userId } = (await response.json()) as { id: string };
    await waitFor(async () => (await stack.db.crmContact.count({ where: { userId } })) === 1, { what: 'the contact' });

    // The job's span ends after the provider call inside it: wait until both are exported.
    const spans = await waitFor(
      () => {
        const finished = exporter.getFinishedSpans();
        const call = finished.find((span) => span.name === 'crm POST /crm/contacts');
        return call && finished.some((span) => span.spanContext().spanId === parentOf(call)) ? finished : undefined;
      },
      { what: 'the provider span and its job span' },
    );

    const request = spans.find((span) => span.name === 'signup');
    const call = spans.find((span) => span.name === 'crm POST /crm/contacts');
    const job = spans.find((span) => span.kind === SpanKind.CONSUMER && span.spanContext().spanId === parentOf(call as ReadableSpan));
    expect(request).toBeDefined();
    expect(job).toBeDefined();
    expect(call).toBeDefined();
    const traceId = request?.spanContext().traceId;
    expect(job?.spanContext().traceId).toBe(traceId);
    expect(call?.spanContext().traceId).toBe(traceId);
    // No personal data in span attributes.
    const text = JSON.stringify(spans.map((span) => span.attributes));
    expect(text).not.toMatch(/@example\.test/);
  });
});

describe('tracing without an OTLP endpoint', () => {
  it('registers nothing and leaves the OpenTelemetry SDK unloaded', async () => {
    expect(await startTracing('signup-test', undefined)).toBeUndefined();
    // The SDK is CommonJS, so each of its files that was loaded, by import or require, is in this cache.
    const sdkFiles = Object.keys(createRequire(import.meta.url).cache).filter((file) => file.includes('/@opentelemetry/sdk-node/'));
    expect(sdkFiles).toEqual([]);
  });
});

describe('spans sent to the collector', () => {
  /** A stand-in OTLP/HTTP collector: keeps each request body it receives. */
  let collector: Server;
  let bodies: string[];
  beforeAll(async () => {
    bodies = [];
    collector = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        bodies.push(body);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));

  /** One request span for a status page, recorded the way the HTTP instrumentation and Next record it. */
  async function exportRequestSpan(wrap: (exporter: OTLPTraceExporter) => OTLPTraceExporter | ReturnType<typeof redactingExporter>) {
    const token = newToken();
    const url = `http://app.test/welcome/${token}?verified=1`;
    const otlp = new OTLPTraceExporter({ url: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces` });
    const own = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(wrap(otlp))] });
    const span = own.getTracer('test').startSpan(`GET /welcome/${token}`, {
      kind: SpanKind.SERVER,
      attributes: { 'http.target': `/welcome/${token}?verified=1`, 'url.full': url, 'url.path': `/welcome/${token}`, 'next.route': '/welcome/[token]' },
    });
    span.addEvent('redirect', { location: `/verify/${token}` });
    span.end();
    await own.forceFlush();
    await own.shutdown();
    return { token, body: bodies.at(-1) ?? '' };
  }

  it('carry route templates, never the token in a path', async () => {
    const { token, body } = await exportRequestSpan((exporter) => redactingExporter(exporter));
    expect(body).toContain('/welcome/[token]?verified=1');
    expect(body).toContain('GET /welcome/[token]');
    expect(body).toContain('/verify/[token]');
    expect(body).not.toContain(token);
  });

  it('would carry the token without the redaction (the check above can fail)', async () => {
    const { token, body } = await exportRequestSpan((exporter) => exporter);
    expect(body).toContain(token);
  });
});
