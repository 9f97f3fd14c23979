// The reconciler against real PostgreSQL and Valkey: after Valkey loses a signup's jobs, PostgreSQL
// still knows what the signup owes, and the reconciler puts back exactly that, once.
//
// Losing data is simulated by deleting every key of this file's queue prefix (other files share
// the server, so never FLUSHALL). The database is shared too: every test moves its own outbox rows
// to a random instant days in the past and reconciles a window around that instant only, so a pass
// never touches another file's signups (their jobs would otherwise run here, against these mocks).
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '@/lib/queues';
import { unlinkMatching } from '@/lib/valkey';
import { dispatchNow, writeOutbox, type OutboxRow } from '@/lib/outbox';
import { outboxEntry } from '@/workers/jobs/define-job';
import { sendGettingStartedEmail, sendInviteEmail, SIGNUP_JOBS, syncCrmContact, trackSignupEvent } from '@/workers/jobs/job-contracts';
import { MAINTENANCE_QUEUE, MAINTENANCE_TASKS, maintenanceQueuePrefix, startMaintenance } from '@/workers/maintenance/maintenance-queue';
import { reconcileOnce } from '@/workers/maintenance/reconciler';
import { startWorkers } from '@/workers/runtime/start-workers';
import { backdate, MARGIN_MS } from '@/tests/helpers/reconcile-window';
import { jobCounts, quietLog, startTestStack, waitFor, type TestStack } from '@/tests/helpers/test-stack';

let stack: TestStack;
const users: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  // Leave nothing in the shared database that another file's dead-letter replay could pick up.
  await stack.db.deadLetter.deleteMany({ where: { jobId: { in: allJobIds(users) } } });
  // Nor backdated rows that a later pass, in this run or the next, could find in its window.
  await stack.db.$executeRaw`DELETE FROM outbox_messages WHERE payload->>'userId' = ANY(${users}::text[])`;
  await stack.close();
});

async function signUp(): Promise<string> {
  const userId = await stack.signUp();
  users.push(userId);
  return userId;
}

function allJobIds(userIds: string[]): string[] {
  return userIds.flatMap((userId) => SIGNUP_JOBS.map((contract) => contract.jobId({ userId }))).sort();
}

/** What a FLUSHALL or a failover without replication does, to this file's keys only. */
async function loseQueueData(): Promise<void> {
  await unlinkMatching(stack.producer, `${stack.config.queuePrefix}:*`);
}

/** The signup jobs of these users that BullMQ holds, in any state. */
async function jobIdsInValkey(userIds: string[]): Promise<string[]> {
  const ids = userIds.flatMap((userId) => SIGNUP_JOBS.map((contract) => ({ queue: contract.queue, id: contract.jobId({ userId }) })));
  const jobs = await Promise.all(ids.map(({ queue, id }) => stack.queues[queue].getJob(id)));
  return jobs.flatMap((job) => (job?.id ? [job.id] : [])).sort();
}

async function totalJobs(): Promise<number> {
  let total = 0;
  for (const queue of QUEUE_NAMES) {
    total += Object.values(await jobCounts(stack.queues, queue)).reduce((sum, count) => sum + count, 0);
  }
  return total;
}

async function effectsOf(userId: string): Promise<number[]> {
  return Promise.all([
    stack.db.welcomeEmail.count({ where: { userId } }),
    stack.db.crmContact.count({ where: { userId } }),
    stack.db.avatar.count({ where: { userId } }),
    stack.db.analyticsEvent.count({ where: { userId } }),
  ]);
}

async function withWorkers(run: () => Promise<void>): Promise<void> {
  const workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
  try {
    await run();
  } finally {
    await workers.close(5_000);
  }
}

// Dead-letter fixtures sit on the analytics job: another file replays every unresolved CRM dead
// letter in the database, which would resolve these under the test's feet.
async function deadLetterFor(userId: string, resolution: 'discarded' | 'replayed' | null): Promise<void> {
  const now = new Date();
  await stack.db.deadLetter.create({
    data: {
      queue: trackSignupEvent.queue,
      jobName: trackSignupEvent.name,
      jobId: trackSignupEvent.jobId({ userId }),
      payload: { userId },
      options: {},
      attemptsMade: 1,
      attemptErrors: [],
      lastError: 'analytics: answered 422',
      firstFailedAt: now,
      failedAt: now,
      resolution,
      resolvedAt: resolution ? now : null,
      resolvedBy: resolution ? 'test' : null,
    },
  });
}

describe('reconciler', () => {
  describe('when Valkey lost the jobs of dispatched signups', () => {
    it('re-enqueues the four jobs of each signup under their own ids, and the workers then apply each effect once', async () => {
      const mine = [await signUp(), await signUp()];
      const { window } = await backdate(stack.db, mine);
      await loseQueueData();
      expect(await totalJobs()).toBe(0);

      // A batch smaller than the candidates: one pass still pages through all of them.
      const result = await reconcileOnce(stack.pool, stack.queues, { ...window, batchSize: 3 });
      expect(result).toEqual({ checked: 8, reenqueued: 8, deadLettersWritten: 0 });
      expect(await totalJobs()).toBe(8);
      expect(await jobIdsInValkey(mine)).toEqual(allJobIds(mine));
      const crmJob = await stack.queues.crm.getJob(syncCrmContact.jobId({ userId: mine[0] ?? '' }));
      expect(crmJob?.opts.attempts).toBe(syncCrmContact.options.attempts);

      await withWorkers(async () => {
        for (const userId of mine) {
          await waitFor(async () => (await effectsOf(userId)).every((count) => count === 1), {
            what: 'four effects',
            timeoutMs: 20_000,
          });
        }
      });
      for (const provider of ['smtp', 'crm', 'storage', 'analytics']) {
        for (const userId of mine) {
          const records = (await stack.inspect(provider)).filter((record) => record.key.includes(userId));
          expect(records.map((record) => record.deliveries), provider).toEqual([1]);
        }
      }
    });

    it('adds nothing on a second pass while the re-enqueued jobs exist', async () => {
      const userId = await signUp();
      const { window } = await backdate(stack.db, [userId]);
      await loseQueueData();

      expect(await reconcileOnce(stack.pool, stack.queues, window)).toMatchObject({ reenqueued: 4 });
      expect(await reconcileOnce(stack.pool, stack.queues, window)).toEqual({
        checked: 4,
        reenqueued: 0,
        deadLettersWritten: 0,
      });
      expect(await totalJobs()).toBe(4);
    });

    it('brings back a lost scheduled email with the delay left until its time, and a lost invitation', async () => {
      const userId = await signUp();
      const followUpId = sendGettingStartedEmail.jobId({ userId });
      const dueAt = new Date(Date.now() + 45_000);
      await stack.db.outboxMessage.updateMany({ where: { jobId: followUpId }, data: { availableAt: dueAt } });
      const invitationId = crypto.randomUUID();
      const tenant = `reconcile-${invitationId.slice(0, 8)}`;
      await stack.db.invitation.create({ data: { id: invitationId, workspace: tenant, email: `x@${tenant}.test` } });
      const [inviteRow] = await writeOutbox(stack.pool, [outboxEntry(sendInviteEmail, { invitationId }, { tenant })]);
      const followUpRow = (await stack.db.outboxMessage.findFirstOrThrow({ where: { jobId: followUpId } })) as unknown as OutboxRow;
      expect(await dispatchNow(stack.pool, stack.dispatch, [{ ...followUpRow, payload: { userId } }, inviteRow as OutboxRow])).toBe(true);

      const { ageMs, window } = await backdate(stack.db, [userId]);
      await stack.db.$executeRaw`
        UPDATE outbox_messages SET created_at = now() - make_interval(secs => ${ageMs / 1_000}::float8)
         WHERE job_id = ${sendInviteEmail.jobId({ invitationId })}`;
      await loseQueueData();

      expect(await reconcileOnce(stack.pool, stack.queues, window)).toMatchObject({ reenqueued: 6 });
      const followUp = await stack.queues.email.getJob(followUpId);
      expect(await followUp?.getState()).toBe('delayed');
      expect(Math.abs((followUp?.timestamp ?? 0) + (followUp?.delay ?? 0) - dueAt.getTime())).toBeLessThan(2_000);
      expect(await stack.queues.email.getJob(sendInviteEmail.jobId({ invitationId }))).toBeDefined();
      await stack.db.invitation.delete({ where: { id: invitationId } });
    });

    it('re-enqueues a job whose dead letter was replayed, since the replay was lost with it', async () => {
      const userId = await signUp();
      await deadLetterFor(userId, 'replayed');
      const { window } = await backdate(stack.db, [userId]);
      await loseQueueData();

      expect(await reconcileOnce(stack.pool, stack.queues, window)).toMatchObject({ reenqueued: 4 });
      expect(await jobIdsInValkey([userId])).toContain(trackSignupEvent.jobId({ userId }));
    });
  });

  describe('when a job failed for good but its dead letter was never written', () => {
    it('writes the dead letter from the failed job and does not re-enqueue it', async () => {
      const jobId = (userId: string) => trackSignupEvent.jobId({ userId });
      let userId = '';
      await stack.setFault('analytics', { mode: 'reject' });
      try {
        await withWorkers(async () => {
          userId = await signUp();
          await waitFor(() => stack.db.deadLetter.findFirst({ where: { jobId: jobId(userId) } }), { what: 'the dead letter' });
          await waitFor(async () => (await effectsOf(userId)).slice(0, 3).every((count) => count === 1), {
            what: 'the other three effects',
            timeoutMs: 20_000,
          });
        });
      } finally {
        await stack.setFault('analytics', { mode: 'up' });
      }
      // As if the worker had died between BullMQ failing the job and the insert.
      await stack.db.deadLetter.deleteMany({ where: { jobId: jobId(userId) } });
      const { window } = await backdate(stack.db, [userId]);

      const result = await reconcileOnce(stack.pool, stack.queues, window);
      expect(result).toEqual({ checked: 1, reenqueued: 0, deadLettersWritten: 1 });
      expect(await stack.queues.analytics.getJobState(jobId(userId))).toBe('failed');
      const letters = await stack.db.deadLetter.findMany({ where: { jobId: jobId(userId) } });
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ queue: 'analytics', jobName: trackSignupEvent.name, resolution: null, attemptsMade: 1 });
      expect(letters[0]?.lastError).toMatch(/422|reject/i);

      // Now accounted for by its dead letter, it is no longer a candidate.
      expect(await reconcileOnce(stack.pool, stack.queues, window)).toEqual({
        checked: 0,
        reenqueued: 0,
        deadLettersWritten: 0,
      });
    });
  });

  describe('re-enqueues nothing for', () => {
    it('a signup whose four effects are applied', async () => {
      let userId = '';
      await withWorkers(async () => {
        userId = await signUp();
        await waitFor(async () => (await effectsOf(userId)).every((count) => count === 1), {
          what: 'four effects',
          timeoutMs: 20_000,
        });
      });
      const { window } = await backdate(stack.db, [userId]);
      await loseQueueData();

      expect(await reconcileOnce(stack.pool, stack.queues, window)).toEqual({ checked: 0, reenqueued: 0, deadLettersWritten: 0 });
      expect(await totalJobs()).toBe(0);
    });

    it('jobs that are still waiting in their queues', async () => {
      await loseQueueData();
      const userId = await signUp();
      const { window } = await backdate(stack.db, [userId]);

      expect(await reconcileOnce(stack.pool, stack.queues, window)).toEqual({ checked: 4, reenqueued: 0, deadLettersWritten: 0 });
      expect(await totalJobs()).toBe(4);
    });

    it('a job whose dead letter waits for a person', async () => {
      const userId = await signUp();
      await deadLetterFor(userId, null);
      const { window } = await backdate(stack.db, [userId]);
      await loseQueueData();

      expect(await reconcileOnce(stack.pool, stack.queues, window)).toMatchObject({ checked: 3, reenqueued: 3 });
      expect(await jobIdsInValkey([userId])).not.toContain(trackSignupEvent.jobId({ userId }));
    });

    it('a job whose dead letter a person discarded', async () => {
      const userId = await signUp();
      await deadLetterFor(userId, 'discarded');
      const { window } = await backdate(stack.db, [userId]);
      await loseQueueData();

      expect(await reconcileOnce(stack.pool, stack.queues, window)).toMatchObject({ checked: 3, reenqueued: 3 });
      expect(await jobIdsInValkey([userId])).not.toContain(trackSignupEvent.jobId({ userId }));
    });

    it('rows younger than the grace period, until they are older', async () => {
      const userId = await signUp();
      const { ageMs, window } = await backdate(stack.db, [userId]);
      await loseQueueData();

      const graceLongerThanTheirAge = { graceMs: ageMs + MARGIN_MS, lookbackMs: ageMs + 2 * MARGIN_MS, batchSize: 100 };
      expect(await reconcileOnce(stack.pool, stack.queues, graceLongerThanTheirAge)).toMatchObject({ reenqueued: 0 });
      expect(await totalJobs()).toBe(0);

      expect(await reconcileOnce(stack.pool, stack.queues, window)).toMatchObject({ reenqueued: 4 });
    });

    it('outbox rows not yet dispatched, which belong to the relay', async () => {
      const userId = await signUp();
      const { window } = await backdate(stack.db, [userId]);
      await stack.db.outboxMessage.updateMany({ where: { payload: { equals: { userId } } }, data: { dispatchedAt: null } });
      try {
        await loseQueueData();
        expect(await reconcileOnce(stack.pool, stack.queues, window)).toEqual({ checked: 0, reenqueued: 0, deadLettersWritten: 0 });
        expect(await totalJobs()).toBe(0);
      } finally {
        await stack.db.outboxMessage.updateMany({
          where: { payload: { equals: { userId } }, dispatchedAt: null },
          data: { dispatchedAt: new Date() },
        });
      }
    });

    it('a signup whose user was deleted', async () => {
      const userId = await signUp();
      const { window } = await backdate(stack.db, [userId]);
      await loseQueueData();
      await stack.db.user.delete({ where: { id: userId } });

      expect(await reconcileOnce(stack.pool, stack.queues, window)).toEqual({ checked: 0, reenqueued: 0, deadLettersWritten: 0 });
      expect(await totalJobs()).toBe(0);
    });
  });

  describe('the scheduled reconciler', () => {
    it('runs on its schedule, and keeps running after Valkey lost the schedule itself', async () => {
      const userId = await signUp();
      const { window } = await backdate(stack.db, [userId]);
      await loseQueueData();
      const maintenance = new Queue(MAINTENANCE_QUEUE, {
        connection: stack.producer,
        prefix: maintenanceQueuePrefix(stack.config.queuePrefix),
      });
      const reconciler = startMaintenance(
        { config: stack.config, pool: stack.pool, connection: stack.workerConnection(), queues: stack.queues, log: quietLog },
        { reconcile: window, reconcileEveryMs: 200 },
      );
      try {
        await waitFor(async () => (await jobIdsInValkey([userId])).length === 4, { what: 'the jobs back' });
        expect(await maintenance.getJobScheduler(MAINTENANCE_TASKS.reconcile)).toMatchObject({ every: 200 });

        await loseQueueData();
        await waitFor(async () => (await jobIdsInValkey([userId])).length === 4, { what: 'the jobs back again' });
        expect(await maintenance.getJobScheduler(MAINTENANCE_TASKS.reconcile)).toMatchObject({ every: 200 });
        expect(await totalJobs()).toBe(4);
      } finally {
        await reconciler.close();
        await maintenance.close();
      }
    });
  });
});
