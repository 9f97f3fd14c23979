// Fault injection against real workers, Valkey, PostgreSQL and the mock providers. Each test checks
// both halves of the promise: nothing lost (the effect exists, or a dead letter does) and nothing
// doubled (one effect row, one contact at the provider).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUser } from '@/app/_signup/create-signup';
import { newToken } from '@/lib/access-tokens';
import { replayDeadLetters } from '@/app/_admin/dead-letters/dead-letters';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { generateAvatar, syncCrmContact, trackSignupEvent } from '@/workers/jobs/job-contracts';
import { quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';

describe('failure handling', () => {
  let stack: TestStack;
  let workers: RunningWorkers;

  beforeAll(async () => {
    stack = await startTestStack({ PROVIDER_TIMEOUT_MS: '1000' });
    workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
  });
  afterAll(async () => {
    await workers.close(5_000);
    await stack.close();
  });

  const crmJob = (userId: string) => stack.queues.crm.getJob(syncCrmContact.jobId({ userId }));
  const crmRecord = async (userId: string) =>
    (await stack.inspect('crm')).find((record) => record.key === syncCrmContact.jobId({ userId }));
  const contacts = (userId: string) => stack.db.crmContact.count({ where: { userId } });
  const deadLetter = (userId: string) =>
    stack.db.deadLetter.findFirst({ where: { jobId: syncCrmContact.jobId({ userId }), resolution: null } });

  describe('when the CRM rate-limits us', () => {
    it('waits for Retry-After and completes without spending attempts', async () => {
      await stack.setFault('crm', { mode: 'ratelimit', retryAfterSeconds: 1 });
      let userId = '';
      try {
        userId = await stack.signUp();
        await waitFor(async () => ((await crmRecord(userId))?.failures ?? 0) >= 2, { what: 'two 429s' });
      } finally {
        await stack.setFault('crm', { mode: 'up' });
      }
      await waitFor(async () => (await contacts(userId)) === 1, { what: 'the contact' });
      // The effect row is written a moment before BullMQ records the attempt as completed.
      await waitFor(async () => (await (await crmJob(userId))?.getState()) === 'completed', { what: 'completion' });
      const job = await crmJob(userId);
      // Only the successful attempt counts; the 429s were not failures.
      expect(job?.attemptsMade).toBe(1);
      expect((await stack.queues.crm.getJobLogs(job?.id as string)).logs).toEqual([]);
      expect((await crmRecord(userId))?.deliveries).toBe(1);
    });
  });

  describe('when the storage provider rate-limits the sandboxed avatar processor', () => {
    it('waits for Retry-After from the child process too, without spending attempts', async () => {
      await stack.setFault('storage', { mode: 'ratelimit', retryAfterSeconds: 1 });
      let userId = '';
      const upload = async () =>
        (await stack.inspect('storage')).find((record) => record.key === generateAvatar.jobId({ userId }));
      try {
        userId = await stack.signUp();
        await waitFor(async () => ((await upload())?.failures ?? 0) >= 2, { what: 'two 429s' });
      } finally {
        await stack.setFault('storage', { mode: 'up' });
      }
      await waitFor(async () => (await stack.db.avatar.count({ where: { userId } })) === 1, { what: 'the avatar' });
      const avatarJob = () => stack.queues.avatar.getJob(generateAvatar.jobId({ userId }));
      // The effect row is written a moment before BullMQ records the attempt as completed.
      await waitFor(async () => (await (await avatarJob())?.getState()) === 'completed', { what: 'completion' });
      const job = await avatarJob();
      expect(job?.attemptsMade).toBe(1);
      expect((await upload())?.deliveries).toBe(1);
    });
  });

  describe('when the CRM rejects the contact (422)', () => {
    it('dead-letters it after one attempt with its whole failure context, and a replay after the fix applies it once', async () => {
      await stack.setFault('crm', { mode: 'reject' });
      let userId = '';
      try {
        userId = await stack.signUp();
        await waitFor(() => deadLetter(userId), { what: 'a dead letter' });
      } finally {
        await stack.setFault('crm', { mode: 'up' });
      }
      const letter = await deadLetter(userId);
      expect(letter).toMatchObject({
        queue: 'crm',
        jobName: 'sync-crm-contact',
        jobId: syncCrmContact.jobId({ userId }),
        payload: { userId },
        attemptsMade: 1,
        resolution: null,
      });
      expect(letter?.lastError).toMatch(/422/);
      expect(letter?.stackTrace).toMatch(/UnrecoverableError/);
      expect(letter?.options).toMatchObject({ attempts: syncCrmContact.options.attempts });
      expect(letter?.attemptErrors).toEqual([{ attempt: 1, error: expect.stringMatching(/422/), at: expect.any(String) }]);
      expect(letter?.firstFailedAt.getTime()).toBeLessThanOrEqual(letter?.failedAt.getTime() ?? 0);
      expect(await contacts(userId)).toBe(0);

      const result = await replayDeadLetters(stack.db, stack.queues, { ids: [letter?.id as bigint] }, {
        actor: 'test',
        perSecond: 100,
      });
      expect(result).toMatchObject({ replayed: 1, skipped: 0 });
      await waitFor(async () => (await contacts(userId)) === 1, { what: 'the contact after replay' });
      expect(await crmRecord(userId)).toMatchObject({ deliveries: 1, failures: 1 });
      expect(await stack.db.deadLetter.findUnique({ where: { id: letter?.id as bigint } })).toMatchObject({
        resolution: 'replayed',
        resolvedBy: 'test',
      });
    });
  });

  describe('when a job\'s payload fails its schema', () => {
    it('dead-letters it after one attempt without calling the provider', async () => {
      const jobId = `sync-crm-contact-bad-${crypto.randomUUID()}`;
      await stack.queues.crm.add(syncCrmContact.name, { userId: 'not-a-uuid', email: 'leak@example.test' }, {
        ...syncCrmContact.options,
        jobId,
      });
      const letter = await waitFor(() => stack.db.deadLetter.findFirst({ where: { jobId } }), { what: 'a dead letter' });
      expect(letter).toMatchObject({ attemptsMade: 1, jobName: 'sync-crm-contact' });
      expect(letter.lastError).toMatch(/invalid payload/);
      expect((await stack.inspect('crm')).some((record) => record.key === jobId)).toBe(false);
    });
  });

  describe('when the CRM stays down past the attempt budget', () => {
    it('dead-letters the job with every attempt recorded, and a replay after recovery applies it once', async () => {
      const userId = crypto.randomUUID();
      await insertUser(stack.pool, uniqueSignup(), { userId, statusToken: newToken() });
      await stack.setFault('crm', { mode: 'down' });
      try {
        // Two attempts instead of the queue's forty keep the test short; the path is the same.
        await stack.queues.crm.add(syncCrmContact.name, { userId }, {
          ...syncCrmContact.options,
          attempts: 2,
          jobId: syncCrmContact.jobId({ userId }),
        });
        await waitFor(() => deadLetter(userId), { what: 'a dead letter' });
      } finally {
        await stack.setFault('crm', { mode: 'up' });
      }
      const letter = await deadLetter(userId);
      expect(letter?.attemptsMade).toBe(2);
      expect((letter?.attemptErrors as Array<{ attempt: number }>).map((entry) => entry.attempt)).toEqual([1, 2]);

      await replayDeadLetters(stack.db, stack.queues, { queue: 'crm' }, { actor: 'test', perSecond: 100 });
      await waitFor(async () => (await contacts(userId)) === 1, { what: 'the contact after replay' });
      // Replayed with fresh attempts: the queue's full budget, not the exhausted two.
      expect((await crmJob(userId))?.opts.attempts).toBe(syncCrmContact.options.attempts);
      expect(await crmRecord(userId)).toMatchObject({ deliveries: 1, failures: 2 });
    });

    it('replaying a dead letter whose effect already exists completes without a second effect', async () => {
      const userId = await stack.signUp();
      await waitFor(async () => (await contacts(userId)) === 1, { what: 'the contact' });
      // Finished in BullMQ too: an active job is locked, and removing it would quietly do nothing.
      await waitFor(async () => (await (await crmJob(userId))?.getState()) === 'completed', { what: 'the first run' });
      const letter = await stack.db.deadLetter.create({
        data: {
          queue: 'crm',
          jobName: syncCrmContact.name,
          jobId: syncCrmContact.jobId({ userId }),
          payload: { userId },
          options: {},
          attemptsMade: 1,
          attemptErrors: [],
          lastError: 'reported twice',
          firstFailedAt: new Date(),
          failedAt: new Date(),
        },
      });
      await stack.queues.crm.remove(syncCrmContact.jobId({ userId }));
      await replayDeadLetters(stack.db, stack.queues, { ids: [letter.id] }, { actor: 'test', perSecond: 100 });
      await waitFor(async () => (await (await crmJob(userId))?.getState()) === 'completed', { what: 'the replay' });
      expect((await crmJob(userId))?.returnvalue).toEqual({ status: 'already-done' });
      expect(await contacts(userId)).toBe(1);
      expect((await crmRecord(userId))?.deliveries).toBe(1);
    });
  });

  describe('when the CRM hangs', () => {
    it('gives up on the call after the provider timeout, retries, and completes once', async () => {
      await stack.setFault('crm', { mode: 'hang' });
      let userId = '';
      try {
        userId = await stack.signUp();
        await waitFor(async () => ((await crmJob(userId))?.attemptsMade ?? 0) >= 1, { what: 'a timed-out attempt' });
      } finally {
        await stack.setFault('crm', { mode: 'up' });
      }
      expect((await crmJob(userId))?.failedReason).toMatch(/no answer within 1000 ms/);
      await waitFor(async () => (await contacts(userId)) === 1, { what: 'the contact' });
      // The hung request reached the CRM; the retry carried the same key, so one contact exists.
      expect((await stack.inspect('crm')).filter((record) => record.key.includes(userId))).toHaveLength(1);
    });
  });
});

describe('job deadlines and cancellation', () => {
  let stack: TestStack;
  let workers: RunningWorkers;

  beforeAll(async () => {
    // A provider timeout longer than the jobs' own deadlines, so the deadline is what fires.
    stack = await startTestStack({ PROVIDER_TIMEOUT_MS: '60000' });
    workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
  });
  afterAll(async () => {
    await workers.close(5_000);
    await stack.close();
  });


  it('aborts an attempt that runs past its job kind\'s deadline, as a transient failure', async () => {
    await stack.setFault('analytics', { mode: 'hang' });
    let userId = '';
    try {
      userId = await stack.signUp();
      const job = () => stack.queues.analytics.getJob(trackSignupEvent.jobId({ userId }));
      await waitFor(async () => ((await job())?.attemptsMade ?? 0) >= 1, {
        what: 'the deadline to fire',
        timeoutMs: trackSignupEvent.timeoutMs + 10_000,
      });
      expect((await job())?.failedReason).toMatch(/ran past its 15000 ms limit/);
    } finally {
      await stack.setFault('analytics', { mode: 'up' });
    }
    await waitFor(async () => (await stack.db.analyticsEvent.count({ where: { userId } })) === 1, { what: 'the event' });
  }, 60_000);

  it('cancels a running job on request, and the job is retried', async () => {
    await stack.setFault('crm', { mode: 'hang' });
    let userId = '';
    const crmWorker = workers.workers.find((worker) => worker.name === 'crm');
    try {
      userId = await stack.signUp();
      const id = syncCrmContact.jobId({ userId });
      await waitFor(async () => (await (await stack.queues.crm.getJob(id))?.getState()) === 'active', { what: 'active job' });
      // Valkey marks the job active a moment before the worker starts running it; cancelJob answers
      // false until then (CI caught that gap once).
      await waitFor(() => crmWorker?.cancelJob(id, 'operator cancelled it'), { what: 'the worker running the job' });
      await waitFor(async () => ((await stack.queues.crm.getJob(id))?.attemptsMade ?? 0) >= 1, { what: 'the cancel' });
      expect((await stack.queues.crm.getJob(id))?.failedReason).toMatch(/cancelled: operator cancelled it/);
    } finally {
      await stack.setFault('crm', { mode: 'up' });
    }
    await waitFor(async () => (await stack.db.crmContact.count({ where: { userId } })) === 1, { what: 'the contact' });
  });
});
