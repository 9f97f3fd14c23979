// Load shedding of analytics at the producer (app/_signup/analytics-shedding.ts), against the real
// Valkey and PostgreSQL: above the backlog threshold a signup is saved without its analytics event,
// and the drop is counted; every other job is always written; an unknown backlog (Valkey down)
// never sheds; and the backlog is read from Valkey at most once per interval, not per signup.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AnalyticsShedder, type AnalyticsSheddingOptions } from '@/app/_signup/analytics-shedding';
import { createSignup } from '@/app/_signup/create-signup';
import { metrics } from '@/lib/metrics';
import { closeQueueSet, createQueueSet, type QueueSet } from '@/lib/queues';
import { createProducerConnection } from '@/lib/valkey';
import { generateAvatar, sendGettingStartedEmail, sendWelcomeEmail, syncCrmContact, trackSignupEvent } from '@/workers/jobs/job-contracts';
import { quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';
import { startValkeyProcess } from '@/tests/helpers/valkey-process';

/** Small, so a test fills the queue past it with a handful of jobs. */
const DEPTH = 20;

const EVERY_JOB = [sendWelcomeEmail, syncCrmContact, generateAvatar, trackSignupEvent, sendGettingStartedEmail]
  .map((contract) => contract.name)
  .sort();
const EVERY_JOB_BUT_ANALYTICS = EVERY_JOB.filter((name) => name !== trackSignupEvent.name);

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack.close();
});
beforeEach(async () => {
  // Each test sets the backlog it needs; the previous test's jobs (no worker runs here) would blur it.
  await stack.queues.analytics.obliterate({ force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A shedder over this stack's analytics queue, on a clock that moves only when the test moves it. */
function shedderFor({
  clock = { now: Date.now() },
  queues = stack.queues,
  ...options
}: Partial<AnalyticsSheddingOptions> & { clock?: { now: number }; queues?: QueueSet } = {}): AnalyticsShedder {
  return new AnalyticsShedder(queues.analytics, { depth: DEPTH, keepRatio: 0, now: () => clock.now, ...options });
}

/** Cheap jobs straight into the analytics queue, with no worker to take them. */
async function fillAnalytics(queues: QueueSet, count: number, opts: { delay?: number; priority?: number } = {}) {
  await queues.analytics.addBulk(
    Array.from({ length: count }, () => ({
      name: trackSignupEvent.name,
      data: { userId: randomUUID() },
      opts: { jobId: `shedding-test-${randomUUID()}`, ...opts },
    })),
  );
}

async function signUp(shedder: AnalyticsShedder | undefined, queues: QueueSet = stack.queues) {
  const outcome = await createSignup(uniqueSignup(), {
    pool: stack.pool,
    queues,
    followUpDelayMs: stack.config.followUpDelayMs,
    shedder,
  });
  if (outcome.status === 'unavailable') throw new Error('signup not saved', { cause: outcome.error });
  if (outcome.status !== 'created') throw new Error(`signup not created: ${outcome.status}`);
  return outcome;
}

async function outboxJobNames(userId: string): Promise<string[]> {
  const rows = await stack.db.outboxMessage.findMany({ where: { jobId: { endsWith: userId } }, select: { jobName: true } });
  return rows.map((row) => row.jobName).sort();
}

/** signup_analytics_events_shed_total, as this process's registry exports it. */
async function shedCount(): Promise<number> {
  const text = await metrics().registry.metrics();
  const sample = /^signup_analytics_events_shed_total (\S+)$/m.exec(text)?.[1];
  if (sample === undefined) throw new Error('signup_analytics_events_shed_total is not exported');
  return Number(sample);
}

describe('analytics load shedding', () => {
  describe('while the analytics backlog is at or below the threshold', () => {
    it('keeps the analytics event, even with a keep ratio of 0', async () => {
      await fillAnalytics(stack.queues, DEPTH);
      const shedder = shedderFor();
      await shedder.refresh();
      expect(shedder.backlog()).toBe(DEPTH);
      const before = await shedCount();

      const { userId } = await signUp(shedder);

      expect(await outboxJobNames(userId)).toEqual(EVERY_JOB);
      expect(await shedCount()).toBe(before);
    });
  });

  describe('while the analytics backlog is above the threshold', () => {
    it('with a keep ratio of 0, saves each signup without its analytics event, writes every other job, and counts each drop', async () => {
      await fillAnalytics(stack.queues, DEPTH + 5);
      const shedder = shedderFor();
      await shedder.refresh();
      const before = await shedCount();

      const first = await signUp(shedder);
      const second = await signUp(shedder);

      for (const { userId, dispatched } of [first, second]) {
        expect(await outboxJobNames(userId)).toEqual(EVERY_JOB_BUT_ANALYTICS);
        expect(dispatched).toBe(true);
        // Nothing reached the analytics queue either: the event is gone, not late.
        expect(await stack.queues.analytics.getJob(trackSignupEvent.jobId({ userId }))).toBeUndefined();
        expect(await stack.queues.crm.getJob(syncCrmContact.jobId({ userId }))).toBeDefined();
      }
      expect(await shedCount()).toBe(before + 2);
    });

    it('with a keep ratio of 1, keeps every event', async () => {
      await fillAnalytics(stack.queues, DEPTH + 5);
      const shedder = shedderFor({ keepRatio: 1 });
      await shedder.refresh();
      const before = await shedCount();

      for (let i = 0; i < 3; i += 1) {
        const { userId } = await signUp(shedder);
        expect(await outboxJobNames(userId)).toEqual(EVERY_JOB);
      }
      expect(await shedCount()).toBe(before);
    });

    it('with a keep ratio of 0.5, keeps exactly the events whose draw falls below it', async () => {
      await fillAnalytics(stack.queues, DEPTH + 5);
      const draws = [0.1, 0.7, 0.49, 0.5];
      const shedder = shedderFor({ keepRatio: 0.5, random: () => draws.shift() ?? Number.NaN });
      await shedder.refresh();
      const before = await shedCount();

      const kept: boolean[] = [];
      for (let i = 0; i < 4; i += 1) {
        const { userId } = await signUp(shedder);
        kept.push((await outboxJobNames(userId)).includes(trackSignupEvent.name));
      }

      expect(kept).toEqual([true, false, true, false]);
      expect(await shedCount()).toBe(before + 2);
    });
  });

  describe('reading the backlog', () => {
    it('counts waiting, prioritized and delayed jobs, but not the ones running', async () => {
      await fillAnalytics(stack.queues, 3);
      await fillAnalytics(stack.queues, 4, { priority: 5 });
      await fillAnalytics(stack.queues, 5, { delay: 60_000 });
      const shedder = shedderFor();

      await shedder.refresh();

      expect(await stack.queues.analytics.getJobCounts('waiting', 'prioritized', 'delayed')).toEqual({
        waiting: 3,
        prioritized: 4,
        delayed: 5,
      });
      expect(shedder.backlog()).toBe(12);
    });

    it('asks Valkey at most once per interval, and concurrent callers share the refresh in flight', async () => {
      await fillAnalytics(stack.queues, DEPTH + 5);
      const reads = vi.spyOn(stack.queues.analytics, 'getJobCounts');
      const clock = { now: Date.now() };
      const shedder = shedderFor({ clock, sampleEveryMs: 1_000 });

      // Nothing read yet: unknown, so both keep; the first starts a refresh the second joins.
      expect(shedder.shouldKeep()).toBe(true);
      expect(shedder.shouldKeep()).toBe(true);
      await shedder.refresh();
      expect(reads).toHaveBeenCalledTimes(1);

      clock.now += 999;
      expect(shedder.shouldKeep()).toBe(false);
      expect(shedder.shouldKeep()).toBe(false);
      expect(reads).toHaveBeenCalledTimes(1);

      clock.now += 1;
      expect(shedder.shouldKeep()).toBe(false);
      await shedder.refresh();
      expect(reads).toHaveBeenCalledTimes(2);
    });

    it('does not trust a reading older than an interval and a deadline: an idle spell starts from unknown', async () => {
      await fillAnalytics(stack.queues, DEPTH + 5);
      const clock = { now: Date.now() };
      const shedder = shedderFor({ clock, sampleEveryMs: 1_000, sampleDeadlineMs: 500 });
      await shedder.refresh();

      clock.now += 1_500;
      expect(shedder.backlog()).toBe(DEPTH + 5);
      clock.now += 1;
      expect(shedder.backlog()).toBeUndefined();
      expect(shedder.shouldKeep()).toBe(true);
      await shedder.refresh();
      expect(shedder.shouldKeep()).toBe(false);
    });
  });

  describe('when Valkey is unreachable', () => {
    it('treats the backlog as unknown, never sheds, and the signup still saves every outbox row', async () => {
      const valkey = await startValkeyProcess();
      const connection = createProducerConnection(valkey.url, quietLog);
      const queues = createQueueSet(connection, `test-${randomUUID()}`);
      try {
        await waitFor(() => connection.status === 'ready', { what: 'private Valkey connection' });
        await fillAnalytics(queues, 5);
        const clock = { now: Date.now() };
        const shedder = shedderFor({ queues, clock, depth: 1 });
        await shedder.refresh();
        // The same shedder sheds while it can read the backlog.
        expect(shedder.shouldKeep()).toBe(false);

        await valkey.stop();
        clock.now += 1_000;
        await shedder.refresh();
        expect(shedder.backlog()).toBeUndefined();
        const before = await shedCount();

        const { userId, dispatched } = await signUp(shedder, queues);

        expect(dispatched).toBe(false);
        expect(await outboxJobNames(userId)).toEqual(EVERY_JOB);
        expect(await shedCount()).toBe(before);
        // Left to the relay, which is not running here; the rows must not dispatch to another test's queues.
        await stack.db.outboxMessage.deleteMany({ where: { jobId: { endsWith: userId } } });
      } finally {
        await valkey.start();
        await waitFor(() => connection.status === 'ready', { what: 'private Valkey reconnect' });
        await closeQueueSet(queues);
        connection.disconnect();
        await valkey.stop();
      }
    });

    it('gives up a read on a connection that never connected within its deadline, as unknown', async () => {
      const valkey = await startValkeyProcess();
      await valkey.stop();
      // BullMQ waits for a first connection without a limit of its own.
      const connection = createProducerConnection(valkey.url, quietLog);
      const queues = createQueueSet(connection, `test-${randomUUID()}`);
      try {
        const shedder = shedderFor({ queues, depth: 1, sampleDeadlineMs: 200 });
        const started = performance.now();
        await shedder.refresh();
        expect(performance.now() - started).toBeLessThan(2_000);
        expect(shedder.backlog()).toBeUndefined();
        expect(shedder.shouldKeep()).toBe(true);
      } finally {
        connection.disconnect();
      }
    });
  });

  describe('when shedding is off (depth 0)', () => {
    it('keeps every event and never reads the backlog', async () => {
      await fillAnalytics(stack.queues, DEPTH + 5);
      const reads = vi.spyOn(stack.queues.analytics, 'getJobCounts');
      const shedder = shedderFor({ depth: 0 });
      const before = await shedCount();

      const { userId } = await signUp(shedder);
      expect(shedder.shouldKeep()).toBe(true);

      expect(await outboxJobNames(userId)).toEqual(EVERY_JOB);
      expect(reads).not.toHaveBeenCalled();
      expect(await shedCount()).toBe(before);
    });
  });
});
