// The admin's queue health report, read from real queues, real workers, a real breaker and a
// database of its own (dead letters and the outbox are counted across the whole database, so this
// file must not see other suites' rows).
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '@/lib/config';
import { createDb, type Db } from '@/lib/db';
import { queueHealth, type QueueHealth, type QueueHealthDeps, type QueueHealthReport } from '@/app/_admin/queue-health/queue-health';
import { closeQueueSet, createQueueSet, QUEUE_NAMES, type QueueName, type QueueSet } from '@/lib/queues';
import { createProducerConnection, type Valkey } from '@/lib/valkey';
import { applyMigrations } from '@/prisma/migrate';
import { CircuitBreaker } from '@/lib/circuit-breaker';
import { TenantLimits } from '@/lib/tenant-limits';
import { sendWelcomeEmail, syncCrmContact } from '@/workers/jobs/job-contracts';
import { providerBreaker } from '@/workers/resilience/provider-breaker';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { createTempDatabase, type TempDatabase } from '@/tests/helpers/db-temp-database';
import { quietLog, startTestStack, waitFor, type TestStack } from '@/tests/helpers/test-stack';
import { startValkeyProcess } from '@/tests/helpers/valkey-process';

let database: TempDatabase;
let db: Db;
const stacks: TestStack[] = [];
const running: RunningWorkers[] = [];

beforeAll(async () => {
  database = await createTempDatabase(loadConfig().databaseUrl, 'signup_health');
  await applyMigrations(database.url);
  db = createDb(database.url, { maxConnections: 2 });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((workers) => workers.close(5_000)));
  await Promise.all(stacks.splice(0).map((stack) => stack.close()));
  await db.deadLetter.deleteMany();
  await db.outboxMessage.deleteMany();
});
afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

/** A stack on this file's database, closed after the test. */
async function freshStack(overrides: Record<string, string> = {}): Promise<TestStack> {
  const stack = await startTestStack({ DATABASE_URL: database.url, ...overrides });
  stacks.push(stack);
  return stack;
}

function breakersFor(config: Config, connection: Valkey): QueueHealthDeps['breakers'] {
  const entries = QUEUE_NAMES.map((queue) => [queue, providerBreaker(queue, config, connection, quietLog).shared] as const);
  return Object.fromEntries(entries) as Record<QueueName, CircuitBreaker>;
}

function depsOf(stack: TestStack): QueueHealthDeps {
  return { db: stack.db, queues: stack.queues, breakers: breakersFor(stack.config, stack.producer) };
}

function runWorkers(stack: TestStack): RunningWorkers {
  const workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
  running.push(workers);
  return workers;
}

function queueOf(report: QueueHealthReport, name: QueueName): QueueHealth {
  const queue = report.queues.find((candidate) => candidate.name === name);
  if (!queue) throw new Error(`no ${name} in the report`);
  return queue;
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

describe('queueHealth', () => {
  describe('with jobs queued and no worker online', () => {
    it('counts each state, finds the oldest waiting job and calls the queue failing', async () => {
      const stack = await freshStack();
      const add = (opts = {}) => stack.queues.email.add(sendWelcomeEmail.name, { userId: randomUUID() }, opts);
      const first = await add();
      await add();
      await add();
      await add({ delay: 60_000 });
      await add({ priority: 1 });
      const now = first.timestamp + 90_000;

      const report = await queueHealth(depsOf(stack), now);
      const queue = queueOf(report, 'email');

      expect(queue.counts).toEqual({ waiting: 3, active: 0, delayed: 1, prioritized: 1, completed: 0, failed: 0 });
      expect(queue.workers).toBe(0);
      expect(queue.oldestWaitingAgeMs).toBe(90_000);
      expect(queue).toMatchObject({ errorRate: null, waitMs: null, processingMs: null, paused: false });
      expect(queue.throughput.completedPerMinute).toEqual(new Array(60).fill(0));
      expect(queue.verdict).toBe('failing');
      expect(queue.reasons).toEqual([
        'email: 4 jobs waiting and no worker online',
        'email: oldest waiting job has waited 90 s',
      ]);
      expect(queueOf(report, 'crm')).toMatchObject({ verdict: 'healthy', reasons: [], oldestWaitingAgeMs: null });
      expect(report).toMatchObject({ verdict: 'failing', valkeyReachable: true, outbox: { pending: 0, oldestAgeMs: null } });
      expect(report.reasons[0]).toBe('email: 4 jobs waiting and no worker online');
    });
  });

  describe('with real workers running real signups', () => {
    it('counts completed jobs and online workers, and computes throughput and latency from job timestamps', async () => {
      const stack = await freshStack();
      runWorkers(stack);
      const SIGNUPS = 5;
      for (let i = 0; i < SIGNUPS; i += 1) await stack.signUp();
      await waitFor(
        async () => {
          const counts = await Promise.all(QUEUE_NAMES.map((name) => stack.queues[name].getCompletedCount()));
          return counts.every((count) => count === SIGNUPS);
        },
        { what: 'every job completed', timeoutMs: 30_000 },
      );

      const report = await queueHealth(depsOf(stack));

      expect(report).toMatchObject({ verdict: 'healthy', reasons: [], valkeyReachable: true });
      for (const name of QUEUE_NAMES) {
        const queue = queueOf(report, name);
        expect(queue.counts, name).toMatchObject({ waiting: 0, active: 0, completed: SIGNUPS, failed: 0 });
        expect(queue.workers, name).toBe(1);
        expect(queue.throughput.completedPerMinute, name).toHaveLength(60);
        expect(sum(queue.throughput.completedPerMinute), name).toBe(SIGNUPS);
        expect(sum(queue.throughput.completedPerMinute.slice(-2)), name).toBe(SIGNUPS);
        expect(sum(queue.throughput.failedPerMinute), name).toBe(0);
        expect(queue.errorRate, name).toBe(0);

        const jobs = await stack.queues[name].getCompleted();
        const waits = jobs.map((job) => (job.processedOn ?? NaN) - job.timestamp).sort((a, b) => a - b);
        const runs = jobs.map((job) => (job.finishedOn ?? NaN) - (job.processedOn ?? NaN)).sort((a, b) => a - b);
        // Nearest rank over five samples: the third is the median, the fifth the 95th percentile.
        expect(queue.waitMs, name).toEqual({ p50: waits[2], p95: waits[4], samples: SIGNUPS });
        expect(queue.processingMs, name).toEqual({ p50: runs[2], p95: runs[4], samples: SIGNUPS });
        expect(queue.processingMs?.p95, name).toBeLessThan(30_000);
        expect(queue.waitMs?.p95, name).toBeLessThan(30_000);
      }
    });
  });

  describe('when a provider fails', () => {
    it('shows the breaker open, then half-open, and calls the queue degraded', async () => {
      const stack = await freshStack();
      const breaker = new CircuitBreaker({ redis: stack.producer, provider: 'crm', keyPrefix: stack.config.queuePrefix });
      const now = Date.now();
      for (let i = 0; i < 10; i += 1) await breaker.recordFailure({ probe: false }, now);

      const open = await queueHealth(depsOf(stack), now);
      expect(queueOf(open, 'crm')).toMatchObject({
        breaker: { provider: 'crm', state: 'open', opens: 1, closes: 0 },
        verdict: 'degraded',
        reasons: ['crm: circuit breaker open'],
      });
      expect(open).toMatchObject({ verdict: 'degraded', reasons: ['crm: circuit breaker open'] });
      expect(queueOf(open, 'email').breaker).toMatchObject({ provider: 'smtp', state: 'closed' });

      const later = await queueHealth(depsOf(stack), now + breaker.settings.openMs);
      expect(queueOf(later, 'crm')).toMatchObject({
        breaker: { state: 'half-open' },
        reasons: ['crm: circuit breaker half-open'],
      });
    });

    it('calls a queue failing when half of what finished failed, and counts its dead letters', async () => {
      const stack = await freshStack({ WORKER_QUEUES: 'crm' });
      runWorkers(stack);
      const FAILURES = 12;
      // A payload that fails its schema fails for good at once, and becomes a dead letter.
      await stack.queues.crm.addBulk(
        Array.from({ length: FAILURES }, (_, i) => ({ name: syncCrmContact.name, data: { userId: `not-a-uuid-${i}` } })),
      );
      await waitFor(async () => (await db.deadLetter.count({ where: { queue: 'crm' } })) === FAILURES, {
        what: 'the dead letters',
      });

      const queue = queueOf(await queueHealth(depsOf(stack)), 'crm');

      expect(queue.counts.failed).toBe(FAILURES);
      expect(sum(queue.throughput.failedPerMinute)).toBe(FAILURES);
      expect(queue.errorRate).toBe(1);
      expect(queue.deadLetters.unresolved).toBe(FAILURES);
      expect(queue.deadLetters.oldestFailedAt).toEqual(expect.any(String));
      expect(queue.verdict).toBe('failing');
      expect(queue.reasons).toEqual([
        'crm: 100% of jobs failed in the last 15 minutes',
        `crm: ${FAILURES} dead letters waiting for a decision`,
      ]);
    });

    it('calls a queue degraded when one job in twelve failed', async () => {
      const stack = await freshStack({ WORKER_QUEUES: 'crm' });
      runWorkers(stack);
      for (let i = 0; i < 11; i += 1) await stack.signUp();
      await stack.queues.crm.add(syncCrmContact.name, { userId: 'not-a-uuid' });
      await waitFor(async () => {
        const counts = await stack.queues.crm.getJobCounts('completed', 'failed');
        return counts.completed === 11 && counts.failed === 1;
      }, { what: '11 completed and 1 failed' });
      // The recorder writes the dead letter just after BullMQ fails the job: wait for it, or the
      // delete below can run first and the letter arrive after it.
      await waitFor(async () => (await db.deadLetter.count({ where: { queue: 'crm' } })) === 1, { what: 'the dead letter' });
      await db.deadLetter.deleteMany();

      const queue = queueOf(await queueHealth(depsOf(stack)), 'crm');

      expect(queue.errorRate).toBeCloseTo(1 / 12);
      expect(queue).toMatchObject({ verdict: 'degraded', reasons: ['crm: 8% of jobs failed in the last 15 minutes'] });
    });
  });

  describe('when a person paused a queue', () => {
    it('reports it paused and degraded', async () => {
      const stack = await freshStack();
      await stack.queues.email.pause();
      const report = await queueHealth(depsOf(stack));
      expect(queueOf(report, 'email')).toMatchObject({ paused: true, verdict: 'degraded', reasons: ['email: paused'] });
      expect(report.verdict).toBe('degraded');
    });
  });

  describe('when tenants wait their turn', () => {
    it('lists the tenants holding the most jobs back, with their running jobs, most first', async () => {
      const stack = await freshStack();
      const limits = new TenantLimits(stack.producer, stack.queues.email.qualifiedName, { concurrency: 1, perSecond: 0 }, 60_000);
      for (const [tenant, jobs] of [['acme', 4], ['globex', 2]] as const) {
        for (let index = 0; index < jobs; index += 1) await limits.admit(`${tenant}-${index}`, tenant);
      }
      const report = await queueHealth(depsOf(stack));
      expect(queueOf(report, 'email').tenants).toEqual([
        { tenant: 'acme', held: 3, running: 1 },
        { tenant: 'globex', held: 1, running: 1 },
      ]);
      expect(queueOf(report, 'crm').tenants).toEqual([]);
    });
  });

  describe('what the database knows', () => {
    it('counts unresolved dead letters per queue and the outbox rows still pending, with their ages', async () => {
      const stack = await freshStack();
      const now = Date.now();
      const older = new Date(now - 600_000);
      for (const [failedAt, resolution] of [[older, null], [new Date(now - 1_000), null], [new Date(now - 2_000), 'discarded']] as const) {
        await db.deadLetter.create({
          data: {
            queue: 'crm',
            jobName: syncCrmContact.name,
            jobId: `sync-crm-contact-${randomUUID()}`,
            payload: {},
            options: {},
            attemptsMade: 1,
            attemptErrors: [],
            lastError: 'crm answered 422',
            firstFailedAt: failedAt,
            failedAt,
            resolution,
          },
        });
      }
      for (const ageMs of [45_000, 10_000]) {
        await db.outboxMessage.create({
          data: {
            queue: 'crm',
            jobName: syncCrmContact.name,
            jobId: randomUUID(),
            payload: {},
            createdAt: new Date(now - ageMs),
            availableAt: new Date(now - ageMs),
          },
        });
      }
      // Scheduled for later: not a backlog.
      await db.outboxMessage.create({
        data: { queue: 'email', jobName: 'send-getting-started-email', jobId: randomUUID(), payload: {}, availableAt: new Date(now + 86_400_000) },
      });
      await db.outboxMessage.create({
        data: { queue: 'crm', jobName: syncCrmContact.name, jobId: randomUUID(), payload: {}, dispatchedAt: new Date() },
      });

      const report = await queueHealth(depsOf(stack), now);
      expect(queueOf(report, 'crm')).toMatchObject({
        deadLetters: { unresolved: 2, oldestFailedAt: older.toISOString() },
        verdict: 'degraded',
        reasons: ['crm: 2 dead letters waiting for a decision'],
      });
      expect(queueOf(report, 'email').deadLetters).toEqual({ unresolved: 0, oldestFailedAt: null });
      expect(report).toMatchObject({
        outbox: { pending: 2, oldestAgeMs: 45_000 },
        verdict: 'degraded',
        reasons: ['outbox: 2 jobs not dispatched, the oldest for 45 s', 'crm: 2 dead letters waiting for a decision'],
      });

      const fiveMinutesOn = await queueHealth(depsOf(stack), now + 300_000);
      expect(fiveMinutesOn).toMatchObject({ outbox: { oldestAgeMs: 345_000 }, verdict: 'failing' });
      expect(fiveMinutesOn.reasons[0]).toBe('outbox: 2 jobs not dispatched, the oldest for 6 min');
    });
  });

  describe('on queues whose connection BullMQ is still setting up', () => {
    it('waits for BullMQ instead of racing it (ioredis would throw outside any promise)', async () => {
      const stack = await freshStack();
      const connection = createProducerConnection(stack.config.valkey);
      await waitFor(() => connection.status === 'ready', { what: 'a fresh producer connection' });
      const queues = createQueueSet(connection, stack.config.queuePrefix);
      try {
        const report = await queueHealth({ db, queues, breakers: breakersFor(stack.config, connection) });
        expect(report.valkeyReachable).toBe(true);
      } finally {
        await closeQueueSet(queues);
        connection.disconnect();
      }
    });
  });

  describe('when Valkey is unreachable', () => {
    it('answers within one poll, failing, with what the database knows', async () => {
      const valkey = await startValkeyProcess();
      const config = loadConfig({ ...process.env, QUEUE_PREFIX: `test-${randomUUID()}`, DATABASE_URL: database.url });
      const connections: Valkey[] = [];
      const queueSets: QueueSet[] = [];
      const depsOn = (): QueueHealthDeps => {
        const connection = createProducerConnection(valkey.url);
        connections.push(connection);
        const queues = createQueueSet(connection, config.queuePrefix);
        queueSets.push(queues);
        return { db, queues, breakers: breakersFor(config, connection) };
      };
      try {
        const deps = depsOn();
        await waitFor(async () => connections[0]?.status === 'ready', { what: 'the private Valkey' });
        expect((await queueHealth(deps)).valkeyReachable).toBe(true);
        await db.deadLetter.create({
          data: {
            queue: 'email',
            jobName: sendWelcomeEmail.name,
            jobId: `send-welcome-email-${randomUUID()}`,
            payload: {},
            options: {},
            attemptsMade: 1,
            attemptErrors: [],
            lastError: 'smtp answered 550',
            firstFailedAt: new Date(),
            failedAt: new Date(),
          },
        });

        await valkey.stop();
        for (const whose of [deps, depsOn()]) {
          const started = Date.now();
          const report = await queueHealth(whose);
          expect(Date.now() - started).toBeLessThan(2_000);
          expect(report).toMatchObject({ valkeyReachable: false, verdict: 'failing' });
          expect(report.reasons).toEqual([
            'Valkey unreachable: no job can run, new jobs wait in the outbox',
            'email: 1 dead letter waiting for a decision',
          ]);
          expect(report.queues.map((queue) => queue.name)).toEqual([...QUEUE_NAMES]);
          expect(queueOf(report, 'email')).toMatchObject({
            verdict: 'failing',
            reasons: ['email: state unknown, Valkey unreachable', 'email: 1 dead letter waiting for a decision'],
            deadLetters: { unresolved: 1 },
            breaker: { provider: 'smtp', state: 'closed' },
          });
        }
      } finally {
        await valkey.stop();
        for (const connection of connections) connection.disconnect();
        await Promise.all(queueSets.map((queues) => Promise.race([closeQueueSet(queues), new Promise((resolve) => setTimeout(resolve, 1_000))])));
      }
    });
  });
});
