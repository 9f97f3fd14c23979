// One trace from request to provider on every path a job takes to its queue: the outbox relay and
// the reconciler continue the trace stored with the row; a replay or a redrive runs in a trace of
// its own, linked to the one the job failed in; the avatar sandbox's render joins the trace from its
// child process. docs/architecture.md#one-trace-per-signup says why each path does what it does.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayDeadLetters } from '@/app/_admin/dead-letters/dead-letters';
import { startRedriveRequest } from '@/app/_admin/dead-letters/redrive-requests';
import { RateLimiter } from '@/app/_signup/rate-limiter';
import { handleSignupRequest } from '@/app/_signup/signup-request';
import { relayPendingBatch } from '@/lib/outbox';
import { closeQueueSet, createQueueSet, type QueueSet } from '@/lib/queues';
import { createProducerConnection } from '@/lib/valkey';
import { syncCrmContact } from '@/workers/jobs/job-contracts';
import { runRedriveBatch } from '@/workers/maintenance/dead-letter-redrive';
import { reconcileOnce } from '@/workers/maintenance/reconciler';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { adminRequest, basicAuth } from '@/tests/helpers/admin-request';
import { backdate } from '@/tests/helpers/reconcile-window';
import { quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const ADMIN = { user: 'admin', password: 'correct horse battery staple' };

/** A stand-in OTLP/HTTP collector for the avatar sandbox's spans, which leave its child process. */
let collector: Server;
const received: string[] = [];
let stack: TestStack;
let workers: RunningWorkers;
/** Queues on a Valkey that is not there: the fast path fails and the rows wait for the relay. */
let unreachable: QueueSet;
const users: string[] = [];

beforeAll(async () => {
  provider.register();
  collector = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push(body);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  stack = await startTestStack({
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
    // Nothing waits three days here: every row is the relay's as soon as it is written.
    FOLLOW_UP_DELAY_MS: '0',
  });
  unreachable = createQueueSet(createProducerConnection('redis://127.0.0.1:1'), stack.config.queuePrefix);
  workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
}, 60_000);
afterAll(async () => {
  await workers.close(5_000);
  // Nor backdated rows or dead letters that another file's reconciler or replay could find.
  await stack.db.$executeRaw`DELETE FROM outbox_messages WHERE payload->>'userId' = ANY(${users}::text[])`;
  await stack.db.deadLetter.deleteMany({ where: { jobId: { in: users.map((userId) => syncCrmContact.jobId({ userId })) } } });
  await closeQueueSet(unreachable);
  await stack.close();
  await new Promise<void>((resolve) => collector.close(() => resolve()));
  await provider.shutdown();
});

/** A signup through the real request handler; returns its user and the trace its rows stored. */
async function signUp(queues: QueueSet = stack.queues): Promise<{ userId: string; signupTrace: string }> {
  const response = await handleSignupRequest(
    new Request('http://app.test/api/signups', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(uniqueSignup()) }),
    { pool: stack.pool, queues, limiter: new RateLimiter(0), log: quietLog, followUpDelayMs: stack.config.followUpDelayMs },
  );
  expect(response.status).toBe(201);
  const { id: userId } = (await response.json()) as { id: string };
  users.push(userId);
  const rows = await stack.db.outboxMessage.findMany({ where: { jobId: { endsWith: userId } } });
  expect(rows).toHaveLength(5);
  // The context and nothing else: no baggage, nothing of the person.
  for (const row of rows) expect(row.traceContext).toMatch(/^\{"traceparent":"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]"\}$/);
  const signupTrace = traceIdIn(rows[0]?.traceContext);
  expect(spans().some((span) => span.name === 'signup' && traceOf(span) === signupTrace)).toBe(true);
  return { userId, signupTrace };
}

const spans = () => exporter.getFinishedSpans();
const traceOf = (span: ReadableSpan) => span.spanContext().traceId;
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const linkedTraces = (span: ReadableSpan) => span.links.map((link) => link.context.traceId);
const byId = (spanId: string | undefined) => spans().find((span) => span.spanContext().spanId === spanId);

function traceIdIn(stored: unknown): string {
  const { traceparent } = JSON.parse(String(stored)) as { traceparent: string };
  return traceparent.split('-')[1] ?? '';
}

/**
 * The worker's span of the job's run in `traceId`, and the CRM call made inside it, once both have
 * ended (the job's span ends after the call).
 */
async function crmRun(userId: string, traceId: string): Promise<{ job: ReadableSpan; call: ReadableSpan; producer: ReadableSpan }> {
  const jobId = syncCrmContact.jobId({ userId });
  return waitFor(
    () => {
      const job = spans().find((span) => span.kind === SpanKind.CONSUMER && span.attributes['bullmq.job.id'] === jobId && traceOf(span) === traceId);
      const call = job && spans().find((span) => span.name === 'crm POST /crm/contacts' && parentOf(span) === job.spanContext().spanId);
      const producer = job && byId(parentOf(job));
      return job && call && producer ? { job, call, producer } : undefined;
    },
    { what: `the CRM job's run and call in trace ${traceId}` },
  );
}

describe('a row the fast path could not send', () => {
  it('is relayed later, and its job and provider call continue the signup trace', async () => {
    // Earlier files' pending rows first, so the relay below sends this test's.
    await relayPendingBatch(stack.pool, stack.dispatch, { batchSize: 1_000, minAgeMs: 0 });
    const { userId, signupTrace } = await signUp(unreachable);
    expect((await relayPendingBatch(stack.pool, stack.dispatch, { batchSize: 1_000, minAgeMs: 0 })).dispatched).toBe(5);

    const { call, producer } = await crmRun(userId, signupTrace);
    expect(traceOf(call)).toBe(signupTrace);
    expect(producer).toMatchObject({ name: 'relay crm.sync-crm-contact', kind: SpanKind.PRODUCER });
    expect(traceOf(producer)).toBe(signupTrace);

    // The relay's own span covers rows of many signups: a trace of its own, linked both ways.
    const batch = byId(producer.links[0]?.context.spanId);
    expect(batch?.name).toBe('outbox relay');
    expect(batch && traceOf(batch)).not.toBe(signupTrace);
    expect(batch && linkedTraces(batch)).toContain(signupTrace);
  });
});

describe("a row whose job Valkey lost", () => {
  it('is re-enqueued by the reconciler, and its job and provider call continue the signup trace', async () => {
    const { userId, signupTrace } = await signUp(unreachable);
    // The add was acknowledged and then lost: the row says dispatched, Valkey holds nothing.
    await stack.db.outboxMessage.updateMany({ where: { jobId: { endsWith: userId } }, data: { dispatchedAt: new Date() } });
    const { window } = await backdate(stack.db, [userId]);
    expect((await reconcileOnce(stack.pool, stack.queues, window)).reenqueued).toBe(5);

    const { producer } = await crmRun(userId, signupTrace);
    expect(producer).toMatchObject({ name: 'reconciler crm.sync-crm-contact', kind: SpanKind.PRODUCER });
    const pass = byId(producer.links[0]?.context.spanId);
    expect(pass?.name).toBe('outbox reconciler');
    expect(pass && traceOf(pass)).not.toBe(signupTrace);
    expect(pass && linkedTraces(pass)).toContain(signupTrace);
  });
});

describe('a dead letter put back', () => {
  const failed: Array<{ userId: string; signupTrace: string; letterId: bigint }> = [];
  let failedBefore: Date;

  beforeAll(async () => {
    failedBefore = new Date();
    await stack.setFault('crm', { mode: 'reject' });
    try {
      for (let n = 0; n < 2; n += 1) {
        const { userId, signupTrace } = await signUp();
        const jobId = syncCrmContact.jobId({ userId });
        const letter = await waitFor(() => stack.db.deadLetter.findFirst({ where: { jobId } }), { what: 'the dead letter' });
        failed.push({ userId, signupTrace, letterId: letter.id });
        // The recorder keeps the job's options, and with them the trace it failed in.
        const options = letter.options as { telemetry?: { metadata?: string } };
        expect(traceIdIn(options.telemetry?.metadata)).toBe(signupTrace);
      }
    } finally {
      await stack.setFault('crm', { mode: 'up' });
    }
  }, 60_000);

  it('by an operator runs in the replay trace, linked to the trace it failed in', async () => {
    const [{ userId, signupTrace, letterId }] = failed as [(typeof failed)[number]];
    const replayTrace = await trace.getTracer('test').startActiveSpan('POST /api/admin/dlq/replay', async (request) => {
      await replayDeadLetters(stack.db, stack.queues, { ids: [letterId] }, { actor: 'admin', perSecond: 100 });
      request.end();
      return request.spanContext().traceId;
    });

    const { call, producer } = await crmRun(userId, replayTrace);
    expect(traceOf(call)).toBe(replayTrace);
    expect(producer).toMatchObject({ name: 'replay crm.sync-crm-contact', kind: SpanKind.PRODUCER });
    expect(linkedTraces(producer)).toEqual([signupTrace]);
    const replay = byId(parentOf(producer));
    expect(replay?.name).toBe('dead-letter replay');
    expect(replay && linkedTraces(replay)).toEqual([signupTrace]);
  });

  it('by a redrive runs in the redrive batch trace, linked to the trace it failed in', async () => {
    const [, { userId, signupTrace }] = failed as [unknown, (typeof failed)[number]];
    const started = await startRedriveRequest(
      adminRequest('POST', '/api/admin/dlq/redrives', { rightAuth: basicAuth(ADMIN.user, ADMIN.password), body: { queue: 'crm', after: failedBefore.toISOString() } }),
      { pool: stack.pool, admin: ADMIN, replayPerSecond: 100_000 },
    );
    expect(started.status).toBe(201);
    expect((await runRedriveBatch({ pool: stack.pool, queues: stack.queues, log: quietLog }))?.replayed).toBe(1);

    const replay = spans().find((span) => span.name === 'dead-letter replay' && linkedTraces(span).includes(signupTrace));
    expect(replay).toBeDefined();
    const redriveTrace = replay ? traceOf(replay) : '';
    expect(redriveTrace).not.toBe(signupTrace);
    const { producer } = await crmRun(userId, redriveTrace);
    expect(linkedTraces(producer)).toEqual([signupTrace]);
  });
});

describe("the avatar sandbox's render", () => {
  it('is traced in the child process, in the signup trace, with its storage call inside it', async () => {
    const { signupTrace } = await signUp();
    // The child sends its spans every second to the collector; they arrive once it has started.
    const { render, upload } = await waitFor(
      () => {
        const sent = received.flatMap(otlpSpans);
        const render = sent.find((span) => span.name === 'sandbox avatar.generate-avatar' && span.traceId === signupTrace);
        const upload = render && sent.find((span) => span.parentSpanId === render.spanId && span.name.startsWith('storage '));
        return render && upload ? { render, upload } : undefined;
      },
      { what: "the sandbox's spans at the collector", timeoutMs: 45_000 },
    );
    expect(render.kind).toBe(OTLP_SPAN_KIND_CONSUMER);
    expect(upload.traceId).toBe(signupTrace);
  }, 60_000);
});

/** OTLP numbers span kinds from 1 (internal); the API from 0. */
const OTLP_SPAN_KIND_CONSUMER = SpanKind.CONSUMER + 1;

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}

/** The spans of one OTLP/HTTP JSON export. */
function otlpSpans(body: string): OtlpSpan[] {
  const { resourceSpans = [] } = JSON.parse(body) as { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: OtlpSpan[] }> }> };
  return resourceSpans.flatMap((resource) => (resource.scopeSpans ?? []).flatMap((scope) => scope.spans ?? []));
}
