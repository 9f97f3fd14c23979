// Worker processes' machinery end to end on real Valkey: signups go through the outbox into the
// queues, BullMQ Workers (the avatar one in its sandboxed child process) run the handlers against
// the mock providers, and provider failures are retried until the effect is applied once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { syncCrmContact, trackSignupEvent } from '@/workers/jobs/job-contracts';
import { quietLog, startTestStack, waitFor, type TestStack } from '@/tests/helpers/test-stack';

let stack: TestStack;
let workers: RunningWorkers;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await workers?.close(5_000);
  await stack.close();
});


async function allEffectsApplied(userId: string): Promise<boolean> {
  const [email, crm, avatar, event] = await Promise.all([
    stack.db.welcomeEmail.count({ where: { userId } }),
    stack.db.crmContact.count({ where: { userId } }),
    stack.db.avatar.count({ where: { userId } }),
    stack.db.analyticsEvent.count({ where: { userId } }),
  ]);
  return email === 1 && crm === 1 && avatar === 1 && event === 1;
}

describe('workers', () => {
  beforeAll(() => {
    workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
  });

  describe('with every provider up', () => {
    it('applies all four effects of a signup, each delivered once', async () => {
      const userId = await stack.signUp();
      await waitFor(() => allEffectsApplied(userId), { what: 'four effects', timeoutMs: 20_000 });
      for (const provider of ['smtp', 'crm', 'storage', 'analytics']) {
        const records = (await stack.inspect(provider)).filter((record) => record.key.includes(userId));
        expect(records.map((record) => record.deliveries), provider).toEqual([1]);
      }
    });
  });

  describe('when the CRM is down and comes back', () => {
    it('retries the job with backoff and keeps one contact', async () => {
      await stack.setFault('crm', { mode: 'down' });
      const userId = await stack.signUp();
      const job = () => stack.queues.crm.getJob(syncCrmContact.jobId({ userId }));

      // Seen between attempts: failed once and waiting out its backoff. Asked in one poll, because on
      // a busy machine the backoff can pass between two separate reads and the job be active again.
      await waitFor(
        async () => {
          const found = await job();
          return (found?.attemptsMade ?? 0) >= 1 && (await found?.getState()) === 'delayed';
        },
        { what: 'a failed CRM attempt waiting for its retry' },
      );
      await stack.setFault('crm', { mode: 'up' });

      await waitFor(() => allEffectsApplied(userId), { what: 'four effects', timeoutMs: 20_000 });
      const [record] = (await stack.inspect('crm')).filter((entry) => entry.key.includes(userId));
      expect(record?.failures).toBeGreaterThanOrEqual(1);
      expect(record?.deliveries).toBe(1);
      expect(await stack.db.crmContact.count({ where: { userId } })).toBe(1);
    });
  });

  describe('when the analytics provider is flaky', () => {
    it('retries the failed sends and completes every event, each counted once', async () => {
      const recordsOf = async (users: string[]) =>
        (await stack.inspect('analytics')).filter((record) => users.some((id) => record.key.includes(id)));
      const failuresOf = async (users: string[]) =>
        (await recordsOf(users)).reduce((sum, record) => sum + record.failures, 0);

      // With 20 jobs at a 50% failure rate, "no attempt failed" has a chance of 2^-20.
      const count = 20;
      await stack.setFault('analytics', { mode: 'flaky', failureRate: 0.5 });
      const users: string[] = [];
      try {
        // Signed up one after another (twenty at once would queue for the stack's five database
        // connections) while the queue is paused, then released together: the worker takes all
        // twenty at once, so each gets its first attempt before the analytics breaker has seen
        // enough failures to open, whatever the machine's speed.
        await stack.queues.analytics.pause();
        for (let signup = 0; signup < count; signup += 1) users.push(await stack.signUp());
        await stack.queues.analytics.resume();
        // Flaky until every job has been tried once, then healthy: the failed ones must be
        // retried. Staying flaky throughout would make the test's duration a matter of luck,
        // since a job's fifth failure in a row already waits 16 s for its next attempt.
        await waitFor(async () => (await recordsOf(users)).length === count, { what: 'a first attempt of every job' });
      } finally {
        await stack.queues.analytics.resume();
        await stack.setFault('analytics', { mode: 'up' });
      }
      expect(await failuresOf(users)).toBeGreaterThan(0);

      await waitFor(
        async () => (await stack.db.analyticsEvent.count({ where: { userId: { in: users } } })) === count,
        { what: 'every analytics event', timeoutMs: 25_000 },
      );
      const records = await recordsOf(users);
      expect(records).toHaveLength(count);
      expect(records.every((record) => record.deliveries === 1)).toBe(true);
      // The effect rows are written a moment before BullMQ records the attempts as completed.
      for (const userId of users) {
        const job = () => stack.queues.analytics.getJob(trackSignupEvent.jobId({ userId }));
        await waitFor(async () => (await (await job())?.getState()) === 'completed', { what: 'completion' });
      }
    });
  });

  describe('when the provider rejects a job permanently', () => {
    it('fails it after one attempt, without retries', async () => {
      await stack.setFault('crm', { mode: 'reject' });
      try {
        const userId = await stack.signUp();
        const job = () => stack.queues.crm.getJob(syncCrmContact.jobId({ userId }));
        await waitFor(async () => (await (await job())?.getState()) === 'failed', { what: 'failed CRM job' });
        expect((await job())?.attemptsMade).toBe(1);
        const [record] = (await stack.inspect('crm')).filter((entry) => entry.key.includes(userId));
        expect(record?.failures).toBe(1);
      } finally {
        await stack.setFault('crm', { mode: 'up' });
      }
    });
  });
});
