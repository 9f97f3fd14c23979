// Backpressure against a provider's published rate: the CRM queue's limiter keeps a burst under
// the CRM's 50 requests/s so it never hears a 429, and when the CRM's limit is lower than the
// queue's, its 429s back the queue off for Retry-After without spending any job's attempts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { syncCrmContact } from '@/workers/jobs/job-contracts';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';

let stack: TestStack;
let workers: RunningWorkers;

beforeAll(async () => {
  stack = await startTestStack({ WORKER_QUEUES: 'crm' });
  workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
});
afterAll(async () => {
  await workers?.close(5_000);
  await stack.close();
});
beforeEach(async () => {
  await fetch(`${stack.mocksUrl}/__reset`, { method: 'POST' });
});

/** Saves `count` users and queues one CRM sync for each, all at once. */
async function queueCrmBurst(count: number): Promise<string[]> {
  const users = Array.from({ length: count }, () => crypto.randomUUID());
  await stack.db.user.createMany({
    data: users.map((id) => {
      const signup = uniqueSignup();
      return { id, email: signup.email, name: signup.name};
    }),
  });
  await stack.queues.crm.addBulk(
    users.map((userId) => ({
      name: syncCrmContact.name,
      data: { userId },
      opts: { ...syncCrmContact.options, jobId: syncCrmContact.jobId({ userId }) },
    })),
  );
  return users;
}

async function allCompleted(users: string[]): Promise<void> {
  await waitFor(async () => (await stack.db.crmContact.count({ where: { userId: { in: users } } })) === users.length, {
    what: `${users.length} CRM contacts`,
    timeoutMs: 30_000,
    intervalMs: 100,
  });
  // The contact row is written before BullMQ marks the job completed.
  await waitFor(async () => {
    const states = await Promise.all(users.map((userId) => stack.queues.crm.getJobState(syncCrmContact.jobId({ userId }))));
    return states.every((state) => state === 'completed');
  }, { what: 'jobs completed', intervalMs: 100 });
}

async function crmRecordsOf(users: string[]) {
  const keys = new Set(users.map((userId) => syncCrmContact.jobId({ userId })));
  return (await stack.inspect('crm')).filter((record) => keys.has(record.key));
}

async function attemptsMadeOf(users: string[]): Promise<number[]> {
  return Promise.all(users.map(async (userId) => (await stack.queues.crm.getJob(syncCrmContact.jobId({ userId })))?.attemptsMade ?? -1));
}

describe('the CRM queue against the CRM rate limit', () => {
  describe('when 200 jobs arrive at once and the CRM allows its default 50 requests/s', () => {
    it('completes them all without the CRM answering a single 429', async () => {
      const users = await queueCrmBurst(200);
      await allCompleted(users);

      const records = await crmRecordsOf(users);
      expect(records).toHaveLength(users.length);
      expect(records.reduce((sum, record) => sum + record.failures, 0)).toBe(0);
      expect(records.every((record) => record.deliveries === 1)).toBe(true);
    }, 40_000);
  });

  describe('when the CRM allows 5 requests/s, below the queue limiter', () => {
    it('backs off on its 429s and completes every job once, on its first attempt', async () => {
      await stack.setFault('crm', { mode: 'up', rateLimitPerSecond: 5 });
      const users = await queueCrmBurst(40);
      await allCompleted(users);

      const records = await crmRecordsOf(users);
      expect(records).toHaveLength(users.length);
      expect(records.reduce((sum, record) => sum + record.failures, 0)).toBeGreaterThan(0);
      expect(records.every((record) => record.deliveries === 1)).toBe(true);
      // A 429 puts the job back to wait without counting it: each completed on attempt one.
      expect(new Set(await attemptsMadeOf(users))).toEqual(new Set([1]));
      expect(await stack.queues.crm.getFailedCount()).toBe(0);
    }, 40_000);
  });
});
