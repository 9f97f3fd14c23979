// The Prometheus metrics against real Valkey, PostgreSQL and the mock providers: the web's
// /api/metrics (its registry plus the queues' state and the outbox's backlog read at scrape time,
// behind the bearer token when one is set), and a worker process's registry after real jobs ran
// through startWorkers.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '@/app/_signup/rate-limiter';
import { handleSignupRequest } from '@/app/_signup/signup-request';
import { createMetrics, metrics } from '@/lib/metrics';
import { collectOutboxState, collectQueueState, exposition, handleMetricsRequest, type QueueStateSources } from '@/lib/metrics-scrape';
import { dispatchNow } from '@/lib/outbox';
import { closeQueueSet, createQueueSet } from '@/lib/queues';
import { createPool } from '@/lib/sql';
import { createProducerConnection } from '@/lib/valkey';
import { jobOptions, pacedByTenant, SIGNUP_JOBS, trackSignupEvent } from '@/workers/jobs/job-contracts';
import { startMetricsServer } from '@/workers/runtime/metrics-server';
import { providerBreaker } from '@/workers/resilience/provider-breaker';
import { reconcileOnce } from '@/workers/maintenance/reconciler';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { quietLog, startTestStack, waitFor, type TestStack } from '@/tests/helpers/test-stack';

const TOKEN = 'metrics-token-for-tests-0123456789';
const DAY_MS = 24 * 60 * 60 * 1_000;

let stack: TestStack;
let workers: RunningWorkers | undefined;
const users: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await workers?.close(5_000);
  // Another file replays every unresolved dead letter in the shared database.
  await stack.db.deadLetter.deleteMany({
    where: { jobId: { in: users.flatMap((userId) => SIGNUP_JOBS.map((contract) => contract.jobId({ userId }))) } },
  });
  await stack.close();
});

async function signUp(): Promise<string> {
  const userId = await stack.signUp();
  users.push(userId);
  return userId;
}

function queueState(): QueueStateSources {
  return { queues: stack.queues, valkey: stack.producer, keyPrefix: stack.config.queuePrefix, log: quietLog };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function samples(text: string): Sample[] {
  return text.split('\n').flatMap((line) => {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match?.[1] || match[3] === undefined) return [];
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]));
    return [{ name: match[1], labels, value: Number(match[3]) }];
  });
}

/** The value of one series in this process's registry (0 when it does not exist yet). */
async function valueOf(name: string, labels: Record<string, string>): Promise<number> {
  const found = samples(await metrics().registry.metrics()).find(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  return found?.value ?? 0;
}

describe('GET /api/metrics', () => {
  it('serves the registry with BullMQ depth by state, workers, the oldest waiting job and breaker state', async () => {
    // A job added an hour ago, with no worker running: the queue is not draining.
    const job = await stack.queues.analytics.add(
      trackSignupEvent.name,
      { userId: randomUUID() },
      { jobId: `metrics-test-${randomUUID()}`, timestamp: Date.now() - 3_600_000 },
    );
    try {
      const response = await handleMetricsRequest(new Request('http://app.test/api/metrics'), {
        metrics: createMetrics(),
        queueState: queueState(),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      const all = samples(text);
      const one = (name: string, labels: Record<string, string>) =>
        all.find((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));

      expect(one('bullmq_job_count', { queue: 'analytics', state: 'waiting' })?.value).toBe(1);
      expect(one('bullmq_job_count', { queue: 'crm', state: 'waiting' })?.value).toBe(0);
      // Four queues' exports, one family each: HELP and TYPE once.
      expect(text.match(/^# TYPE bullmq_job_count gauge$/gm)).toHaveLength(1);
      expect(one('bullmq_job_completed_total', { queue: 'email' })).toBeDefined();
      expect(one('signup_queue_workers', { queue: 'analytics' })?.value).toBe(0);
      const oldest = one('signup_queue_oldest_waiting_seconds', { queue: 'analytics' })?.value ?? 0;
      expect(oldest).toBeGreaterThanOrEqual(3_600);
      expect(oldest).toBeLessThan(3_660);
      expect(one('signup_queue_oldest_waiting_seconds', { queue: 'crm' })?.value).toBe(0);
      for (const provider of ['smtp', 'crm', 'storage', 'analytics']) {
        expect(one('signup_breaker_open', { provider })?.value, provider).toBe(0);
      }
      expect(one('signup_queue_state_up', {})?.value).toBe(1);
      expect(text).toContain('# TYPE signup_job_wait_seconds histogram');
      expect(text).toContain('# TYPE signup_request_seconds histogram');
      expect(one('process_cpu_user_seconds_total', {})).toBeDefined();
    } finally {
      await job.remove();
    }
  });

  it('is served by the route module, with this process’s registry', async () => {
    const [{ GET }, { webRuntime }] = await Promise.all([import('@/app/api/metrics/route'), import('@/app/_web/web-runtime')]);
    try {
      // The fail-fast connection refuses commands until it has connected.
      await waitFor(() => webRuntime().valkey.status === 'ready', { what: 'the web runtime connected' });
      const response = await GET(new Request('http://app.test/api/metrics'));
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain('# TYPE signup_request_seconds histogram');
      expect(text).toMatch(/^bullmq_job_count\{queue="email",state="waiting"\} \d+$/m);
      expect(text).toMatch(/^signup_outbox_pending_rows \d+$/m);
      expect(text).toMatch(/^signup_jobs_deduplicated_total\{queue="email",job="send-verification-email"\} \d+$/m);
    } finally {
      webRuntime().valkey.disconnect();
      await webRuntime().db.$disconnect();
    }
  });

  describe('when METRICS_TOKEN is set', () => {
    const request = (authorization?: string) =>
      handleMetricsRequest(
        new Request('http://app.test/api/metrics', { headers: authorization ? { authorization } : {} }),
        { metrics: createMetrics(), token: TOKEN },
      );

    it('answers 401 without the bearer token or with a wrong one, and 200 with it', async () => {
      const missing = await request();
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await missing.text()).not.toContain('signup_');
      expect((await request(`Bearer ${TOKEN}x`)).status).toBe(401);
      expect((await request(`Bearer ${TOKEN.slice(0, -1)}`)).status).toBe(401);
      expect((await request(`Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`)).status).toBe(401);
      const allowed = await request(`Bearer ${TOKEN}`);
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain('signup_job_wait_seconds');
    });
  });

  describe('when Valkey is unreachable', () => {
    it('still answers, with signup_queue_state_up 0 and no stale queue gauges', async () => {
      const target = createMetrics();
      await collectQueueState(target, queueState());
      const dead = createProducerConnection('redis://127.0.0.1:1');
      dead.on('error', () => undefined);
      const queues = createQueueSet(dead, stack.config.queuePrefix);
      try {
        const text = await exposition(target, { queueState: { queues, valkey: dead, keyPrefix: stack.config.queuePrefix } });
        const all = samples(text);
        expect(all.find((sample) => sample.name === 'signup_queue_state_up')?.value).toBe(0);
        expect(all.filter((sample) => /^signup_(queue_workers|queue_oldest|breaker_open)|^bullmq_/.test(sample.name))).toEqual([]);
      } finally {
        await closeQueueSet(queues).catch(() => undefined);
        dead.disconnect();
      }
    });
  });

  it('observes signup request latency by route and status', async () => {
    const labels = { route: '/api/signups', status: '415' };
    const before = await valueOf('signup_request_seconds_count', labels);
    const response = await handleSignupRequest(
      new Request('http://app.test/api/signups', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }),
      { pool: stack.pool, queues: stack.queues, limiter: new RateLimiter(0), log: quietLog, followUpDelayMs: stack.config.followUpDelayMs },
    );
    expect(response.status).toBe(415);
    expect(await valueOf('signup_request_seconds_count', labels)).toBe(before + 1);
  });
});

describe('the outbox backlog, read from PostgreSQL at scrape time', () => {
  // Far older than any row another test leaves behind, so this one is the oldest the gauge sees.
  const DUE_AGO_SECONDS = 400 * 24 * 60 * 60;

  async function backlog(target = createMetrics()) {
    const all = samples(await exposition(target, { outboxState: { db: stack.pool, log: quietLog } }));
    const value = (name: string) => all.find((sample) => sample.name === name)?.value;
    return { pending: value('signup_outbox_pending_rows'), oldest: value('signup_outbox_oldest_pending_age_seconds') };
  }

  it('counts the due rows not yet dispatched and ages the oldest from when it fell due; later work is not backlog', async () => {
    const before = await backlog();
    const due = `metrics-due-${randomUUID()}`;
    const later = `metrics-later-${randomUUID()}`;
    // A row the relay never took, and a follow-up email scheduled three days ahead.
    await stack.db.$executeRaw`
      INSERT INTO outbox_messages (queue, job_name, job_id, payload, available_at, created_at)
      VALUES ('analytics', 'track-signup-event', ${due}, '{}'::jsonb,
              now() - make_interval(secs => ${DUE_AGO_SECONDS}::float8), now() - make_interval(secs => ${DUE_AGO_SECONDS}::float8)),
             ('email', 'send-getting-started-email', ${later}, '{}'::jsonb, now() + interval '3 days', now())`;
    try {
      const stalled = await backlog();
      expect(stalled.pending).toBe((before.pending ?? 0) + 1);
      expect(stalled.oldest).toBeGreaterThanOrEqual(DUE_AGO_SECONDS);
      expect(stalled.oldest).toBeLessThan(DUE_AGO_SECONDS + 60);

      // The relay catches up.
      await stack.db.$executeRaw`UPDATE outbox_messages SET dispatched_at = now() WHERE job_id = ${due}`;
      const caughtUp = await backlog();
      expect(caughtUp.pending).toBe(before.pending);
      expect(caughtUp.oldest).toBeLessThan(DUE_AGO_SECONDS);
    } finally {
      await stack.db.outboxMessage.deleteMany({ where: { jobId: { in: [due, later] } } });
    }
  });

  it('leaves both gauges out when PostgreSQL does not answer, and the scrape still answers', async () => {
    const target = createMetrics();
    await collectOutboxState(target, { db: stack.pool });
    expect((await target.registry.metrics())).toMatch(/^signup_outbox_pending_rows \d+$/m);
    const unreachable = createPool('postgresql://postgres:postgres@127.0.0.1:1/signup', { connectionTimeoutMs: 500 });
    try {
      const all = samples(await exposition(target, { outboxState: { db: unreachable, log: quietLog } }));
      expect(all.filter((sample) => sample.name.startsWith('signup_outbox_pending') || sample.name.startsWith('signup_outbox_oldest'))).toEqual([]);
      expect(all.some((sample) => sample.name === 'process_cpu_user_seconds_total')).toBe(true);
    } finally {
      await unreachable.end();
    }
  });

  it('is not exported by a registry that never read it, as a worker process’s', async () => {
    const text = await exposition(createMetrics(), { jobs: [] });
    expect(text).toContain('# TYPE signup_outbox_pending_rows gauge');
    expect(samples(text).filter((sample) => /^signup_(outbox_pending|outbox_oldest|queue_state_up)/.test(sample.name))).toEqual([]);
  });
});

describe('the outbox and the reconciler', () => {
  it('count a failed fast-path dispatch', async () => {
    // A connection that was up and is gone, as when Valkey stops under a running web process.
    const lost = createProducerConnection(stack.config.valkey);
    const queues = createQueueSet(lost, stack.config.queuePrefix);
    await queues.analytics.waitUntilReady();
    lost.disconnect();
    try {
      const before = await valueOf('signup_outbox_dispatch_failures_total', { path: 'fast' });
      const row = { id: 0n, queue: 'analytics' as const, jobName: trackSignupEvent.name, jobId: 'never-added', payload: { userId: randomUUID() } };
      expect(await dispatchNow(stack.pool, { queues, jobOptions, pacedByTenant }, [row])).toBe(false);
      expect(await valueOf('signup_outbox_dispatch_failures_total', { path: 'fast' })).toBe(before + 1);
    } finally {
      await closeQueueSet(queues).catch(() => undefined);
    }
  });

  it('count the jobs the reconciler re-enqueued', async () => {
    const userId = await signUp();
    // Moved to an instant no other file's signups share (tests/reconciler.test.ts does the same).
    const ageMs = DAY_MS + Math.floor(Math.random() * 29 * DAY_MS);
    await stack.db.$executeRaw`
      UPDATE outbox_messages SET created_at = now() - make_interval(secs => ${ageMs / 1_000}::float8)
       WHERE payload->>'userId' = ${userId}`;
    // What a Valkey that lost data leaves: none of the signup's jobs.
    await Promise.all(SIGNUP_JOBS.map((contract) => stack.queues[contract.queue].remove(contract.jobId({ userId }))));

    const before = await valueOf('signup_reconciler_repairs_total', { kind: 'reenqueued' });
    const result = await reconcileOnce(stack.pool, stack.queues, { graceMs: ageMs - 60_000, lookbackMs: ageMs + 60_000, batchSize: 100 });
    expect(result.reenqueued).toBe(4);
    expect(await valueOf('signup_reconciler_repairs_total', { kind: 'reenqueued' })).toBe(before + 4);
  });
});

describe('in a worker process', () => {
  beforeAll(() => {
    workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
  });

  it('observes wait and processing time by queue, job and outcome, and provider call latency', async () => {
    const userId = await signUp();
    await waitFor(
      async () =>
        (await Promise.all([
          stack.db.welcomeEmail.count({ where: { userId } }),
          stack.db.crmContact.count({ where: { userId } }),
          stack.db.avatar.count({ where: { userId } }),
          stack.db.analyticsEvent.count({ where: { userId } }),
        ])).every((count) => count === 1),
      // The avatar's sandbox is a fresh process that loads sharp: seconds on a busy machine.
      { what: 'four effects', timeoutMs: 45_000 },
    );
    for (const contract of SIGNUP_JOBS) {
      // The avatar job runs in the sandbox's child process; the parent still times it from its events.
      const labels = { queue: contract.queue, job: contract.name, outcome: 'completed' };
      await waitFor(async () => (await valueOf('signup_job_processing_seconds_count', labels)) >= 1, { what: `${contract.name} timed` });
      expect(await valueOf('signup_job_wait_seconds_count', labels), contract.name).toBeGreaterThanOrEqual(1);
    }
    for (const provider of ['smtp', 'crm', 'analytics']) {
      expect(await valueOf('signup_provider_call_seconds_count', { provider, outcome: 'ok' }), provider).toBeGreaterThanOrEqual(1);
    }
  }, 60_000);

  it('is counted among each queue’s workers by the web’s scrape', async () => {
    const target = createMetrics();
    await collectQueueState(target, queueState());
    const counted = samples(await target.registry.metrics()).filter((sample) => sample.name === 'signup_queue_workers');
    expect(counted.map((sample) => [sample.labels.queue, sample.value]).sort()).toEqual([
      ['analytics', 1],
      ['avatar', 1],
      ['crm', 1],
      ['email', 1],
    ]);
  });

  it('serves its registry on its own port, behind the same token rule', async () => {
    const server = await startMetricsServer({ port: 0, token: TOKEN, metrics: metrics(), log: quietLog });
    if (!server) throw new Error('metrics server did not start');
    try {
      const url = `http://127.0.0.1:${server.port}`;
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${url}/elsewhere`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
      const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await response.text()).toMatch(
        /^signup_job_wait_seconds_count\{queue="email",job="send-welcome-email",outcome="completed"\} [1-9]/m,
      );
    } finally {
      await server.close();
    }
  });

  describe('its GET /healthz, the probes’ liveness signal', () => {
    it('answers 200 ok without the token and tells nothing more, while /metrics still wants the token', async () => {
      const server = await startMetricsServer({ port: 0, token: TOKEN, metrics: metrics(), log: quietLog });
      if (!server) throw new Error('metrics server did not start');
      try {
        const url = `http://127.0.0.1:${server.port}`;
        const response = await fetch(`${url}/healthz`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('text/plain');
        expect(await response.text()).toBe('ok\n');
        expect((await fetch(`${url}/metrics`)).status).toBe(401);
        expect((await fetch(`${url}/healthz/metrics`)).status).toBe(404);
      } finally {
        await server.close();
      }
    });

    it('answers only GET, like /metrics: HEAD and POST get 404', async () => {
      const server = await startMetricsServer({ port: 0, token: TOKEN, metrics: metrics(), log: quietLog });
      if (!server) throw new Error('metrics server did not start');
      try {
        const url = `http://127.0.0.1:${server.port}`;
        for (const method of ['HEAD', 'POST']) {
          expect((await fetch(`${url}/healthz`, { method })).status, method).toBe(404);
          expect((await fetch(`${url}/metrics`, { method, headers: { authorization: `Bearer ${TOKEN}` } })).status, method).toBe(404);
        }
      } finally {
        await server.close();
      }
    });
  });

  describe('when the CRM is down for a moment', () => {
    it('counts the retry and the transient provider call', async () => {
      const retries = () => valueOf('signup_job_retries_total', { queue: 'crm', job: 'sync-crm-contact' });
      const transient = () => valueOf('signup_provider_call_seconds_count', { provider: 'crm', outcome: 'transient' });
      const [retriesBefore, transientBefore] = [await retries(), await transient()];
      await stack.setFault('crm', { mode: 'down' });
      let userId = '';
      try {
        userId = await signUp();
        await waitFor(async () => (await retries()) > retriesBefore, { what: 'a counted retry' });
      } finally {
        await stack.setFault('crm', { mode: 'up' });
      }
      expect(await transient()).toBeGreaterThan(transientBefore);
      expect(
        await valueOf('signup_job_processing_seconds_count', { queue: 'crm', job: 'sync-crm-contact', outcome: 'retrying' }),
      ).toBeGreaterThanOrEqual(1);
      await waitFor(async () => (await stack.db.crmContact.count({ where: { userId } })) === 1, { what: 'the contact' });
    });
  });

  describe('when the analytics provider refuses an event (422)', () => {
    it('counts one dead letter and a permanent provider call', async () => {
      const labels = { queue: 'analytics', job: trackSignupEvent.name };
      const deadLetters = () => valueOf('signup_dead_letters_total', labels);
      const before = await deadLetters();
      await stack.setFault('analytics', { mode: 'reject' });
      try {
        const userId = await signUp();
        await waitFor(() => stack.db.deadLetter.findFirst({ where: { jobId: trackSignupEvent.jobId({ userId }) } }), {
          what: 'a dead letter',
        });
        await waitFor(async () => (await deadLetters()) === before + 1, { what: 'the dead letter counted' });
      } finally {
        await stack.setFault('analytics', { mode: 'up' });
      }
      expect(await valueOf('signup_provider_call_seconds_count', { provider: 'analytics', outcome: 'permanent' })).toBeGreaterThanOrEqual(1);
      expect(await valueOf('signup_job_processing_seconds_count', { ...labels, outcome: 'failed' })).toBeGreaterThanOrEqual(1);
    });
  });

  describe('when a breaker opens', () => {
    it('counts the transition, and the scrape reads the breaker as open from Valkey', async () => {
      // Its own key prefix (still under the stack's, so it is cleaned up): this file's CRM jobs
      // must not be held back by it.
      const keyPrefix = `${stack.config.queuePrefix}:isolated`;
      const breaker = providerBreaker('crm', { ...stack.config, queuePrefix: keyPrefix }, stack.producer, quietLog);
      const opened = { provider: 'crm', from: 'closed', to: 'open' };
      const before = await valueOf('signup_breaker_transitions_total', opened);
      for (let call = 0; call < breaker.shared.settings.minimumRequests; call += 1) await breaker.recordFailure({ probe: false });
      expect(await valueOf('signup_breaker_transitions_total', opened)).toBe(before + 1);

      const target = createMetrics();
      await collectQueueState(target, { ...queueState(), keyPrefix });
      const open = samples(await target.registry.metrics()).filter((sample) => sample.name === 'signup_breaker_open');
      expect(open.find((sample) => sample.labels.provider === 'crm')?.value).toBe(1);
      expect(open.find((sample) => sample.labels.provider === 'smtp')?.value).toBe(0);
    });
  });

  it('puts no user id, email or job id in any label', async () => {
    const text = await exposition(metrics(), { queueState: queueState() });
    const values = samples(text).flatMap((sample) => Object.values(sample.labels));
    expect(values.length).toBeGreaterThan(0);
    expect(values.filter((value) => value.includes('@'))).toEqual([]);
    expect(values.filter((value) => /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(value))).toEqual([]);
    expect(users.length).toBeGreaterThan(0);
    for (const userId of users) expect(text).not.toContain(userId);
  });
});
