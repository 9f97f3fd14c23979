// The transactional outbox: a committed signup never loses a job, whatever Valkey is doing, and
// dispatching a row again never adds a job twice.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handleSignupRequest, type SignupDeps } from '@/app/_signup/signup-request';
import { RateLimiter } from '@/app/_signup/rate-limiter';
import { DISPATCH_HORIZON_MS, DispatchMarks, enqueueRows, relayPendingBatch, type OutboxRow } from '@/lib/outbox';
import { metrics } from '@/lib/metrics';
import { createPool } from '@/lib/sql';
import { sendGettingStartedEmail } from '@/workers/jobs/job-contracts';
import { closeQueueSet, createQueueSet, QUEUE_NAMES } from '@/lib/queues';
import { createProducerConnection } from '@/lib/valkey';
import { startOutboxRelay } from '@/workers/loops/outbox-relay';
import { jobCounts, quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';
import { startValkeyProcess, type ValkeyProcess } from '@/tests/helpers/valkey-process';

let valkey: ValkeyProcess;
let stack: TestStack;
let deps: SignupDeps;

beforeAll(async () => {
  valkey = await startValkeyProcess();
  stack = await startTestStack({ VALKEY_URL: valkey.url });
  // The follow-up email due at once, so all five of a signup's rows behave alike here; work
  // scheduled for later has its own tests below.
  deps = { pool: stack.pool, queues: stack.queues, limiter: new RateLimiter(0), log: quietLog, followUpDelayMs: 0 };
});
afterAll(async () => {
  await valkey.start().catch(() => undefined);
  await stack.close();
  await valkey.stop();
});
afterEach(async () => {
  await valkey.start().catch(() => undefined);
  await waitFor(() => stack.producer.status === 'ready', { what: 'producer reconnect' });
});

async function signUp(signupDeps: SignupDeps = deps): Promise<string> {
  const response = await handleSignupRequest(
    new Request('http://app.test/api/signups', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(uniqueSignup()),
    }),
    signupDeps,
  );
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function outboxRows(userId: string): Promise<Array<OutboxRow & { dispatchedAt: Date | null; dispatchAttempts: number; lastError: string | null }>> {
  const rows = await stack.db.outboxMessage.findMany({ where: { jobId: { endsWith: userId } }, orderBy: { id: 'asc' } });
  return rows.map((row) => ({ ...row, queue: row.queue as OutboxRow['queue'], payload: row.payload as Record<string, unknown> }));
}

async function totalJobs(): Promise<number> {
  let total = 0;
  for (const queue of QUEUE_NAMES) {
    const counts = await jobCounts(stack.queues, queue);
    total += Object.values(counts).reduce((sum, count) => sum + count, 0);
  }
  return total;
}

async function queuedJobIds(): Promise<string[]> {
  const ids: string[] = [];
  for (const queue of QUEUE_NAMES) {
    for (const job of await stack.queues[queue].getJobs(['waiting', 'prioritized', 'delayed'])) ids.push(job.id ?? '');
  }
  return ids.sort();
}

describe('outbox', () => {
  describe('when the same rows are dispatched a second time', () => {
    it('adds no new jobs, because job ids are deterministic', async () => {
      const userId = await signUp();
      const before = await totalJobs();
      const rows = await outboxRows(userId);
      await enqueueRows(stack.dispatch, rows);
      await enqueueRows(stack.dispatch, rows);
      expect(await totalJobs()).toBe(before);
      expect((await queuedJobIds()).filter((id) => id.endsWith(userId))).toHaveLength(5);
    });
  });

  describe('when Valkey is down at signup time', () => {
    it('still answers 201, keeps the jobs in the outbox, and the relay dispatches them once Valkey is back', async () => {
      await valkey.stop();
      const userId = await signUp();
      const pending = await outboxRows(userId);
      expect(pending).toHaveLength(5);
      expect(pending.every((row) => row.dispatchedAt === null)).toBe(true);

      await valkey.start();
      await waitFor(() => stack.producer.status === 'ready', { what: 'producer reconnect' });
      const relay = startOutboxRelay({ pool: stack.pool, queues: stack.queues, log: quietLog }, { minAgeMs: 0, idleMs: 20 });
      try {
        await waitFor(async () => (await outboxRows(userId)).every((row) => row.dispatchedAt !== null), {
          what: 'relay dispatch',
        });
      } finally {
        await relay.stop();
      }
      expect((await queuedJobIds()).filter((id) => id.endsWith(userId))).toEqual(
        ['generate-avatar', 'send-getting-started-email', 'send-welcome-email', 'sync-crm-contact', 'track-signup-event'].map((name) => `${name}-${userId}`),
      );
    });

    it('records each failed relay attempt and leaves the rows pending', async () => {
      await valkey.stop();
      const userId = await signUp();
      const result = await relayPendingBatch(stack.pool, stack.dispatch, { batchSize: 1_000, minAgeMs: 0 });
      expect(result.error).toBeInstanceOf(Error);
      const rows = await outboxRows(userId);
      expect(rows.every((row) => row.dispatchedAt === null && row.dispatchAttempts === 1)).toBe(true);
      expect(rows[0]?.lastError).toBeTruthy();
    });
  });

  describe("the fast path's dispatched marks, written behind the answers", () => {
    // Never on their own timer here: each test flushes when it wants the marks written.
    const gathered = (db = stack.pool) => new DispatchMarks(db, 3_600_000);

    it('are written for many signups at once, and the relay then leaves their rows alone', async () => {
      // Earlier tests' pending rows first, so what the relay finds below is this test's alone.
      await relayPendingBatch(stack.pool, stack.dispatch, { batchSize: 1_000, minAgeMs: 0 });
      const marks = gathered();
      const users = await Promise.all(Array.from({ length: 5 }, () => signUp({ ...deps, marks })));
      const rowsOf = async () => (await Promise.all(users.map(outboxRows))).flat();
      expect((await rowsOf()).every((row) => row.dispatchedAt === null)).toBe(true);

      await marks.flush();
      expect((await rowsOf()).every((row) => row.dispatchedAt !== null)).toBe(true);
      const relayed = await relayPendingBatch(stack.pool, stack.dispatch, { batchSize: 1_000, minAgeMs: 0 });
      expect(relayed.claimed).toBe(0);
    });

    it('that cannot be written leave their rows to the relay, which adds no job twice', async () => {
      // A pool already ended: the UPDATE fails as it would with the database gone.
      const ended = createPool(stack.config.databaseUrl, { maxConnections: 1 });
      await ended.end();
      const marks = gathered(ended);
      const userId = await signUp({ ...deps, marks });
      const jobsBefore = await totalJobs();
      const unwritten = async () => (await metrics().outboxMarksUnwritten.get()).values[0]?.value ?? 0;
      const before = await unwritten();

      await marks.flush();
      expect(await unwritten()).toBe(before + 5);
      expect((await outboxRows(userId)).every((row) => row.dispatchedAt === null)).toBe(true);

      const relayed = await relayPendingBatch(stack.pool, stack.dispatch, { batchSize: 1_000, minAgeMs: 0 });
      expect(relayed.dispatched).toBe(5);
      expect((await outboxRows(userId)).every((row) => row.dispatchedAt !== null)).toBe(true);
      expect(await totalJobs()).toBe(jobsBefore);
    });
  });

  describe('the relay', () => {
    it('dispatches the oldest rows first', async () => {
      await valkey.stop();
      const first = await signUp();
      const second = await signUp();
      await valkey.start();
      await waitFor(() => stack.producer.status === 'ready', { what: 'producer reconnect' });
      // Other tests' leftovers are older still; drain them, then look at what one signup's batch takes.
      const older = await stack.db.outboxMessage.count({
        where: { dispatchedAt: null, availableAt: { lte: new Date() }, id: { lt: (await outboxRows(first))[0]?.id } },
      });
      if (older > 0) await relayPendingBatch(stack.pool, stack.dispatch, { batchSize: older, minAgeMs: 0 });

      await relayPendingBatch(stack.pool, stack.dispatch, { batchSize: 5, minAgeMs: 0 });
      expect((await outboxRows(first)).every((row) => row.dispatchedAt !== null)).toBe(true);
      expect((await outboxRows(second)).every((row) => row.dispatchedAt === null)).toBe(true);
    });

    it('leaves rows younger than minAgeMs to the fast path', async () => {
      await valkey.stop();
      const userId = await signUp();
      await valkey.start();
      await waitFor(() => stack.producer.status === 'ready', { what: 'producer reconnect' });
      await relayPendingBatch(stack.pool, stack.dispatch, { batchSize: 1_000, minAgeMs: 60_000 });
      expect((await outboxRows(userId)).every((row) => row.dispatchedAt === null)).toBe(true);
    });

    it('never claims a row twice when several relays run at once', async () => {
      await valkey.stop();
      const users = [await signUp(), await signUp(), await signUp()];
      await valkey.start();
      await waitFor(() => stack.producer.status === 'ready', { what: 'producer reconnect' });

      await Promise.all(
        Array.from({ length: 4 }, () => relayPendingBatch(stack.pool, stack.dispatch, { batchSize: 2, minAgeMs: 0 })),
      );
      const relays = Array.from({ length: 3 }, () =>
        startOutboxRelay({ pool: stack.pool, queues: stack.queues, log: quietLog }, { batchSize: 2, minAgeMs: 0, idleMs: 10 }),
      );
      try {
        for (const userId of users) {
          await waitFor(async () => (await outboxRows(userId)).every((row) => row.dispatchedAt !== null), {
            what: 'all rows dispatched',
          });
        }
      } finally {
        await Promise.all(relays.map((relay) => relay.stop()));
      }
      for (const userId of users) {
        expect((await outboxRows(userId)).map((row) => row.dispatchAttempts)).toEqual([1, 1, 1, 1, 1]);
      }
    });
  });
});

describe('work scheduled for later', () => {
  async function signUpWithFollowUpIn(ms: number): Promise<string> {
    const response = await handleSignupRequest(
      new Request('http://app.test/api/signups', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(uniqueSignup()),
      }),
      { ...deps, followUpDelayMs: ms },
    );
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: string }).id;
  }
  const followUpOf = async (userId: string) =>
    (await outboxRows(userId)).find((row) => row.jobName === sendGettingStartedEmail.name);

  it('stays in PostgreSQL while it is further away than the horizon', async () => {
    const userId = await signUpWithFollowUpIn(3 * 24 * 60 * 60 * 1_000);
    await relayPendingBatch(stack.pool, stack.dispatch, { batchSize: 10_000, minAgeMs: 0 });

    expect((await followUpOf(userId))?.dispatchedAt).toBeNull();
    expect(await stack.queues.email.getJob(sendGettingStartedEmail.jobId({ userId }))).toBeUndefined();
  });

  it('is handed to Valkey once it falls within the horizon, delayed until its time', async () => {
    const userId = await signUpWithFollowUpIn(3 * 24 * 60 * 60 * 1_000);
    const dueAt = new Date(Date.now() + DISPATCH_HORIZON_MS / 2);
    await stack.db.outboxMessage.updateMany({
      where: { jobId: sendGettingStartedEmail.jobId({ userId }) },
      data: { availableAt: dueAt },
    });
    await relayPendingBatch(stack.pool, stack.dispatch, { batchSize: 10_000, minAgeMs: 0 });

    expect((await followUpOf(userId))?.dispatchedAt).not.toBeNull();
    const job = await stack.queues.email.getJob(sendGettingStartedEmail.jobId({ userId }));
    expect(await job?.getState()).toBe('delayed');
    expect(Math.abs((job?.timestamp ?? 0) + (job?.delay ?? 0) - dueAt.getTime())).toBeLessThan(2_000);
  });

  it('goes straight to Valkey from the signup when it is due within the horizon', async () => {
    const userId = await signUpWithFollowUpIn(5_000);
    expect((await followUpOf(userId))?.dispatchedAt).not.toBeNull();
    const job = await stack.queues.email.getJob(sendGettingStartedEmail.jobId({ userId }));
    expect(await job?.getState()).toBe('delayed');
    expect(job?.delay).toBeGreaterThan(3_000);
  });
});

describe('when Valkey was already down when the process started', () => {
  it('still answers 201 at once and leaves the jobs in the outbox', async () => {
    const down = await startValkeyProcess();
    await down.stop();
    // A producer that has never connected: BullMQ waits for a connection that never comes.
    const producer = createProducerConnection(down.url);
    const queues = createQueueSet(producer, stack.config.queuePrefix);
    try {
      const started = Date.now();
      const response = await handleSignupRequest(
        new Request('http://app.test/api/signups', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(uniqueSignup()),
        }),
        { ...deps, queues },
      );
      expect(response.status).toBe(201);
      expect(Date.now() - started).toBeLessThan(2_000);
      const { id } = (await response.json()) as { id: string };
      expect((await outboxRows(id)).every((row) => row.dispatchedAt === null)).toBe(true);
    } finally {
      await closeQueueSet(queues).catch(() => undefined);
      producer.disconnect();
    }
  });
});
