// The maintenance queue against real PostgreSQL and Valkey: its three job schedulers, the Worker
// that runs each task by its job's name, the dead-letter digest (posted to the mock `alerts`
// webhook) and the retention sweep.
//
// The database is shared with other test files running in parallel, and their worker processes run
// sweeps of their own. So every dead letter here sits in a queue named for this run alone and the
// digest's counts are asserted for those queues only; outbox rows carry job ids of their own and are
// checked by id, and a sweep's count is checked as a lower bound (the database may hold other old
// rows). The sweep's own tests keep their rows in a transaction that is rolled back, so no other
// file's relay ever dispatches an undispatched fixture.
import { randomBytes, randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '@/lib/config';
import { execute, query, sql, transaction, type Queryable } from '@/lib/sql';
import type { Logger } from '@/lib/log';
import { queuePrefix } from '@/lib/queues';
import { sendDeadLetterDigest, type DeadLetterDigest, type DeadLetterDigestDeps } from '@/workers/maintenance/dead-letter-digest';
import { ERASURE_JOBS, sendGettingStartedEmail, trackSignupEvent } from '@/workers/jobs/job-contracts';
import {
  DIGEST_PATTERN,
  MAINTENANCE_QUEUE,
  MAINTENANCE_TASKS,
  SWEEP_EVERY_MS,
  maintenanceQueuePrefix,
  startMaintenance,
  type MaintenanceSettings,
} from '@/workers/maintenance/maintenance-queue';
import { RECONCILE_DEFAULTS, type ReconcileOptions } from '@/workers/maintenance/reconciler';
import { DISPATCHED_ROW_MAX_AGE_MS, sweepRetention } from '@/workers/maintenance/retention-sweep';
import { EXPIRED_LINK_KEEP_MS } from '@/workers/maintenance/account-retention';
import { quietLog, startTestStack, waitFor, type InspectedEffect, type TestStack } from '@/tests/helpers/test-stack';

const HOUR_MS = 60 * 60 * 1_000;
const DAY_MS = 24 * HOUR_MS;
/** Far wider than a test runs, far narrower than the spread of the fixtures' ages. */
const MARGIN_MS = 60_000;
/** A reconcile window that holds no row: scheduled passes here must not touch other files' signups. */
const NO_ROWS: Omit<ReconcileOptions, 'log'> = { graceMs: 0, lookbackMs: 0, batchSize: 1 };
/** A payload value that must never reach a digest. */
const SECRET = `secret-${randomUUID()}`;

let stack: TestStack;
let alertsUrl: string;
const deadLetterQueues: string[] = [];
const outboxJobIds: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  alertsUrl = `${stack.mocksUrl}/alerts`;
});
beforeEach(async () => {
  await fetch(`${stack.mocksUrl}/__reset`, { method: 'POST' });
  // Each test starts without the schedulers and runs an earlier one left behind.
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: stack.producer, prefix: maintenanceQueuePrefix(stack.config.queuePrefix) });
  await queue.obliterate({ force: true });
  await queue.close();
});
afterAll(async () => {
  await stack.db.deadLetter.deleteMany({ where: { queue: { in: deadLetterQueues } } });
  await stack.db.outboxMessage.deleteMany({ where: { jobId: { in: outboxJobIds } } });
  await stack.close();
});

/** Names this run's dead-letter queues, so no other test file (or run of this one) counts them. */
const RUN_ID = randomUUID().slice(0, 8);

/** A queue name no other test file uses; labels are unique within this file. */
function ownQueue(label: string): string {
  const queue = `maintenance-test-${RUN_ID}-${label}`;
  deadLetterQueues.push(queue);
  return queue;
}

async function insertDeadLetter(
  queue: string,
  { failedAt, resolution = null }: { failedAt: Date; resolution?: 'replayed' | 'discarded' | null },
): Promise<void> {
  await stack.db.deadLetter.create({
    data: {
      queue,
      jobName: trackSignupEvent.name,
      jobId: `${queue}-${randomUUID()}`,
      payload: { userId: SECRET, email: `${SECRET}@example.test` },
      options: {},
      attemptsMade: 1,
      attemptErrors: [],
      lastError: 'analytics: answered 422',
      firstFailedAt: failedAt,
      failedAt,
      resolution,
      resolvedAt: resolution ? new Date() : null,
      resolvedBy: resolution ? 'test' : null,
    },
  });
}

function ago(ms: number): Date {
  return new Date(Date.now() - ms);
}


/** An outbox row of a user who does not exist, so no reconcile pass ever picks it up. */
async function insertOutboxRow(
  { createdAt, dispatchedAt }: { createdAt: Date; dispatchedAt: Date | null },
  db: Queryable = stack.pool,
): Promise<string> {
  const jobId = `maintenance-test-${randomUUID()}`;
  outboxJobIds.push(jobId);
  await execute(db, sql`
    INSERT INTO outbox_messages (queue, job_name, job_id, payload, created_at, dispatched_at)
    VALUES (${trackSignupEvent.queue}, ${trackSignupEvent.name}, ${jobId}, ${JSON.stringify({ userId: randomUUID() })}::jsonb,
            ${createdAt}, ${dispatchedAt})`);
  return jobId;
}

async function existingOutboxRows(jobIds: string[], db: Queryable = stack.pool): Promise<string[]> {
  const rows = await query<{ job_id: string }>(db, sql`SELECT job_id FROM outbox_messages WHERE job_id = ANY(${jobIds}::text[])`);
  return rows.map((row) => row.job_id).sort();
}

class RolledBack extends Error {
  override name = 'RolledBack';
}

/**
 * Runs `run` in a transaction that is rolled back: its rows, undispatched ones included, are never
 * seen by another session, so other files' relays cannot dispatch them and their sweeps cannot
 * delete them under this test.
 */
async function withUncommittedRows(run: (tx: Queryable) => Promise<void>): Promise<void> {
  const outcome: unknown = await transaction(stack.pool, async (tx) => {
    await run(tx);
    throw new RolledBack();
  }).catch((error: unknown) => error);
  // A failed assertion inside `run` surfaces as itself.
  if (!(outcome instanceof RolledBack)) throw outcome;
}

function recordingLog(): Logger & { lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  return {
    lines,
    debug: (message) => lines.push({ level: 'debug', message }),
    info: (message) => lines.push({ level: 'info', message }),
    warn: (message) => lines.push({ level: 'warn', message }),
    error: (message) => lines.push({ level: 'error', message }),
  };
}

type DigestRecord = InspectedEffect & { body: DeadLetterDigest };

async function digests(): Promise<DigestRecord[]> {
  const records = (await stack.inspect('alerts')) as Array<InspectedEffect & { body: { kind?: string } | null }>;
  return records.filter((record): record is DigestRecord => record.body?.kind === 'dead-letter-digest');
}

function digestDeps(overrides: Partial<DeadLetterDigestDeps> = {}): DeadLetterDigestDeps {
  return { pool: stack.pool, log: quietLog, webhookUrl: alertsUrl, providerTimeoutMs: 2_000, ...overrides };
}

/** Runs `run` while this file's maintenance worker and schedulers are up, then stops them. */
async function withMaintenance(
  settings: Partial<MaintenanceSettings>,
  run: (queue: Queue) => Promise<void>,
  config: Config = stack.config,
): Promise<void> {
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: stack.producer, prefix: maintenanceQueuePrefix(config.queuePrefix) });
  const maintenance = startMaintenance(
    { config, pool: stack.pool, connection: stack.workerConnection(), queues: stack.queues, log: quietLog },
    { reconcile: NO_ROWS, ...settings },
  );
  try {
    await run(queue);
  } finally {
    await maintenance.close();
    await queue.close();
  }
}

describe('maintenance', () => {
  describe('after it starts', () => {
    it('has the reconciler every RECONCILE_EVERY_MS, the digest daily at 08:00 UTC and the sweep hourly', async () => {
      await withMaintenance({}, async (queue) => {
        const schedulers = await waitFor(
          async () => {
            const found = await queue.getJobSchedulers();
            return found.length === 3 ? found : undefined;
          },
          { what: 'three job schedulers' },
        );
        const byId = Object.fromEntries(schedulers.map((scheduler) => [scheduler.key, scheduler]));
        expect(byId[MAINTENANCE_TASKS.reconcile]).toMatchObject({
          name: MAINTENANCE_TASKS.reconcile,
          every: stack.config.reconcileEveryMs,
        });
        expect(byId[MAINTENANCE_TASKS.digest]).toMatchObject({
          name: MAINTENANCE_TASKS.digest,
          pattern: DIGEST_PATTERN,
          tz: 'UTC',
        });
        expect(DIGEST_PATTERN).toBe('0 8 * * *');
        const nextDigest = new Date(byId[MAINTENANCE_TASKS.digest]?.next ?? 0);
        expect([nextDigest.getUTCHours(), nextDigest.getUTCMinutes()]).toEqual([8, 0]);
        expect(byId[MAINTENANCE_TASKS.sweep]).toMatchObject({ name: MAINTENANCE_TASKS.sweep, every: HOUR_MS });
        expect(SWEEP_EVERY_MS).toBe(HOUR_MS);
      });
    });

    it('has no reconcile scheduler when reconcileEveryMs is 0, and removes one an earlier start left', async () => {
      await withMaintenance({ reconcileEveryMs: 60_000 }, async (queue) => {
        await waitFor(() => queue.getJobScheduler(MAINTENANCE_TASKS.reconcile), { what: 'the reconcile scheduler' });
      });
      await withMaintenance({ reconcileEveryMs: 0 }, async (queue) => {
        await waitFor(
          async () => (await queue.getJobScheduler(MAINTENANCE_TASKS.reconcile)) === undefined,
          { what: 'the reconcile scheduler to be removed' },
        );
        expect((await queue.getJobSchedulers()).map((scheduler) => scheduler.key).sort()).toEqual(
          [MAINTENANCE_TASKS.digest, MAINTENANCE_TASKS.sweep].sort(),
        );
        expect((await queue.getDelayed()).filter((job) => job.name === MAINTENANCE_TASKS.reconcile)).toEqual([]);

        // A reconcile job that was already due when the reconciler was turned off runs no pass.
        const leftover = await queue.add(MAINTENANCE_TASKS.reconcile, {});
        await waitFor(async () => (await queue.getJobState(leftover.id ?? '')) === 'completed', { what: 'the leftover run' });
        expect((await queue.getJob(leftover.id ?? ''))?.returnvalue).toEqual({
          skipped: 'the reconciler is off (RECONCILE_EVERY_MS=0)',
        });
      });
    });
  });

  describe('the worker', () => {
    it('runs each task its scheduler starts, chosen by the job name', async () => {
      const queueName = ownQueue('scheduled');
      await insertDeadLetter(queueName, { failedAt: ago(HOUR_MS) });
      const ageMs = DAY_MS + Math.floor(Math.random() * 5 * DAY_MS);
      const old = await insertOutboxRow({ createdAt: ago(ageMs + HOUR_MS), dispatchedAt: ago(ageMs) });
      const config: Config = { ...stack.config, alerts: { ...stack.config.alerts, webhookUrl: alertsUrl } };

      await withMaintenance(
        {
          reconcileEveryMs: 200,
          sweepEveryMs: 200,
          sweep: { dispatchedRowMaxAgeMs: ageMs - MARGIN_MS },
          // Every second, so the cron path runs within the test.
          digestPattern: '* * * * * *',
        },
        async (queue) => {
          const finished = await waitFor(
            async () => {
              const jobs = await queue.getCompleted();
              const names = new Set(jobs.map((job) => job.name));
              return Object.values(MAINTENANCE_TASKS).every((name) => names.has(name)) ? jobs : undefined;
            },
            { what: 'a completed run of each task' },
          );
          const resultOf = (name: string) => finished.find((job) => job.name === name)?.returnvalue;
          expect(resultOf(MAINTENANCE_TASKS.reconcile)).toEqual({ checked: 0, reenqueued: 0, deadLettersWritten: 0 });
          expect(resultOf(MAINTENANCE_TASKS.digest)).toMatchObject({ posted: true });
          expect(resultOf(MAINTENANCE_TASKS.sweep)).toMatchObject({ outboxRowsDeleted: expect.any(Number) });
          expect(await existingOutboxRows([old])).toEqual([]);

          const [digest] = await digests();
          expect(digest?.key).toBe(`dead-letter-digest-${digest?.body.date}`);
          expect(digest?.body.unresolved.find((group) => group.queue === queueName)).toMatchObject({ count: 1 });
        },
        config,
      );
    });

    it('fails a job whose name is no maintenance task, without running any task', async () => {
      await withMaintenance({ reconcileEveryMs: 0 }, async (queue) => {
        const stray = await queue.add('drop-everything', {});
        await waitFor(async () => (await queue.getJobState(stray.id ?? '')) === 'failed', { what: 'the stray job to fail' });
        const job = await queue.getJob(stray.id ?? '');
        expect(job?.failedReason).toBe('no maintenance task is named drop-everything');
        expect(job?.attemptsMade).toBe(1);
      });
    });
  });

  describe('send-dead-letter-digest', () => {
    it('posts the unresolved dead letters per queue with the oldest failure of each, and no payload', async () => {
      const [first, second] = [ownQueue('a'), ownQueue('b')];
      const oldest = ago(3 * HOUR_MS);
      await insertDeadLetter(first, { failedAt: ago(HOUR_MS) });
      await insertDeadLetter(first, { failedAt: oldest });
      await insertDeadLetter(first, { failedAt: ago(2 * HOUR_MS) });
      // Resolved letters wait for nobody, however old.
      await insertDeadLetter(first, { failedAt: ago(5 * HOUR_MS), resolution: 'replayed' });
      await insertDeadLetter(first, { failedAt: ago(6 * HOUR_MS), resolution: 'discarded' });
      const secondFailedAt = ago(30 * 60_000);
      await insertDeadLetter(second, { failedAt: secondFailedAt });
      const now = new Date();
      const date = now.toISOString().slice(0, 10);

      const result = await sendDeadLetterDigest(digestDeps(), { now, queues: [second, first] });

      expect(result).toEqual({ date, total: 4, posted: true });
      const records = await digests();
      expect(records).toHaveLength(1);
      expect(records[0]?.key).toBe(`dead-letter-digest-${date}-${[first, second].sort().join('+')}`);
      expect(records[0]?.body).toEqual({
        kind: 'dead-letter-digest',
        date,
        unresolved: [
          { queue: first, count: 3, oldestFailedAt: oldest.toISOString() },
          { queue: second, count: 1, oldestFailedAt: secondFailedAt.toISOString() },
        ],
        total: 4,
      });
      expect(JSON.stringify(records[0]?.body)).not.toContain(SECRET);
    });

    it('sends the same idempotency key when run twice on one day, so the webhook applies it once', async () => {
      const queueName = ownQueue('twice');
      const oldest = ago(2 * DAY_MS);
      await insertDeadLetter(queueName, { failedAt: oldest });
      await insertDeadLetter(queueName, { failedAt: ago(DAY_MS) });
      const now = new Date();
      const date = now.toISOString().slice(0, 10);

      expect(await sendDeadLetterDigest(digestDeps(), { now })).toMatchObject({ date, posted: true });
      expect(await sendDeadLetterDigest(digestDeps(), { now })).toMatchObject({ date, posted: true });

      const records = await digests();
      expect(records.map((record) => [record.key, record.deliveries])).toEqual([[`dead-letter-digest-${date}`, 2]]);
      const body = records[0]?.body;
      expect(body?.unresolved.find((group) => group.queue === queueName)).toEqual({
        queue: queueName,
        count: 2,
        oldestFailedAt: oldest.toISOString(),
      });
      expect(body?.total).toBe(body?.unresolved.reduce((sum, group) => sum + group.count, 0));
    });

    it('sends nothing when no dead letter waits for a person, and says so at info', async () => {
      const queueName = ownQueue('resolved');
      await insertDeadLetter(queueName, { failedAt: ago(HOUR_MS), resolution: 'replayed' });
      await insertDeadLetter(queueName, { failedAt: ago(HOUR_MS), resolution: 'discarded' });
      const log = recordingLog();

      const result = await sendDeadLetterDigest(digestDeps({ log }), { queues: [queueName] });

      expect(result).toMatchObject({ total: 0, posted: false });
      expect(await stack.inspect('alerts')).toEqual([]);
      expect(log.lines).toEqual([{ level: 'info', message: 'no unresolved dead letters; no digest sent' }]);
    });

    it('logs the digest at warn instead when ALERT_WEBHOOK_URL is unset', async () => {
      const queueName = ownQueue('unsent');
      await insertDeadLetter(queueName, { failedAt: ago(HOUR_MS) });
      const log = recordingLog();

      const result = await sendDeadLetterDigest(digestDeps({ log, webhookUrl: undefined }), { queues: [queueName] });

      expect(result).toMatchObject({ total: 1, posted: false });
      expect(await stack.inspect('alerts')).toEqual([]);
      expect(log.lines.map((line) => line.level)).toEqual(['warn']);
    });
  });

  describe('sweep-retention', () => {
    it('deletes dispatched outbox rows past the cutoff, batch after batch, and keeps undispatched and recent ones', async () => {
      // A random age, so concurrent runs of this file never share a cutoff.
      const ageMs = DAY_MS + Math.floor(Math.random() * 5 * DAY_MS);
      await withUncommittedRows(async (tx) => {
        const old = [];
        for (let n = 0; n < 3; n += 1) old.push(await insertOutboxRow({ createdAt: ago(ageMs + HOUR_MS), dispatchedAt: ago(ageMs) }, tx));
        const recent = await insertOutboxRow({ createdAt: ago(ageMs), dispatchedAt: ago(ageMs - 2 * MARGIN_MS) }, tx);
        const undispatched = await insertOutboxRow({ createdAt: ago(ageMs + DAY_MS), dispatchedAt: null }, tx);

        const result = await sweepRetention(
          { pool: tx, queues: stack.queues },
          // Fewer rows per statement than there are old rows: one sweep still deletes them all.
          { dispatchedRowMaxAgeMs: ageMs - MARGIN_MS, deleteBatchSize: 2 },
        );

        expect(await existingOutboxRows([...old, recent, undispatched], tx)).toEqual([recent, undispatched].sort());
        expect(result.outboxRowsDeleted).toBeGreaterThanOrEqual(old.length);
      });
    });

    it('by default keeps every row the reconciler may still read, and deletes older ones', async () => {
      expect(DISPATCHED_ROW_MAX_AGE_MS).toBeGreaterThan(RECONCILE_DEFAULTS.lookbackMs);
      await withUncommittedRows(async (tx) => {
        const pastCutoff = await insertOutboxRow(
          { createdAt: ago(DISPATCHED_ROW_MAX_AGE_MS + 2 * HOUR_MS), dispatchedAt: ago(DISPATCHED_ROW_MAX_AGE_MS + HOUR_MS) },
          tx,
        );
        const pastLookback = await insertOutboxRow(
          { createdAt: ago(RECONCILE_DEFAULTS.lookbackMs + 2 * HOUR_MS), dispatchedAt: ago(RECONCILE_DEFAULTS.lookbackMs + HOUR_MS) },
          tx,
        );
        const neverDispatched = await insertOutboxRow({ createdAt: ago(30 * DAY_MS), dispatchedAt: null }, tx);

        await sweepRetention({ pool: tx, queues: stack.queues });

        expect(await existingOutboxRows([pastCutoff, pastLookback, neverDispatched], tx)).toEqual(
          [pastLookback, neverDispatched].sort(),
        );
      });
    });

    it('purges accounts unconfirmed past the limit with their waiting jobs, and keeps confirmed and recent ones', async () => {
      // A random age, so concurrent runs of this file never share a cutoff.
      const ageMs = DAY_MS + Math.floor(Math.random() * 5 * DAY_MS);
      await withUncommittedRows(async (tx) => {
        const account = async (createdAt: Date, verified: boolean) => {
          const id = randomUUID();
          await execute(tx, sql`
            INSERT INTO users (id, email, name, created_at, email_verified_at)
            VALUES (${id}::uuid, ${`purge-${id}@example.com`}, 'Purge', ${createdAt}, ${verified ? createdAt : null})`);
          await execute(tx, sql`
            INSERT INTO outbox_messages (queue, job_name, job_id, payload, available_at)
            VALUES (${sendGettingStartedEmail.queue}, ${sendGettingStartedEmail.name}, ${sendGettingStartedEmail.jobId({ userId: id })},
                    ${JSON.stringify({ userId: id })}::jsonb, now() + interval '1 day')`);
          return id;
        };
        const stale = [await account(ago(ageMs + HOUR_MS), false), await account(ago(ageMs + HOUR_MS), false)];
        const confirmed = await account(ago(ageMs + HOUR_MS), true);
        const recent = await account(ago(ageMs - HOUR_MS), false);

        const result = await sweepRetention({ pool: tx, queues: stack.queues }, { unverifiedAccountMaxAgeMs: ageMs, deleteBatchSize: 1 });

        expect(result.unverifiedAccountsPurged).toBeGreaterThanOrEqual(stale.length);
        const left = await query<{ id: string }>(tx, sql`SELECT id FROM users WHERE id = ANY(${[...stale, confirmed, recent]}::uuid[])`);
        expect(left.map((row) => row.id).sort()).toEqual([confirmed, recent].sort());
        const followUps = [...stale, confirmed, recent].map((userId) => sendGettingStartedEmail.jobId({ userId }));
        expect(await existingOutboxRows(followUps, tx)).toEqual(
          [confirmed, recent].map((userId) => sendGettingStartedEmail.jobId({ userId })).sort(),
        );
        // What the providers hold of the purged goes too: their erasure jobs wait for the relay.
        const erasures = [...stale, confirmed, recent].flatMap((userId) => ERASURE_JOBS.map((contract) => contract.jobId({ userId })));
        expect(await existingOutboxRows(erasures, tx)).toEqual(
          stale.flatMap((userId) => ERASURE_JOBS.map((contract) => contract.jobId({ userId }))).sort(),
        );
      });
    });

    it('deletes links a month past their expiry, and keeps younger expired ones for their "new link" page', async () => {
      await withUncommittedRows(async (tx) => {
        const userId = randomUUID();
        await execute(tx, sql`INSERT INTO users (id, email, name) VALUES (${userId}::uuid, ${`links-${userId}@example.com`}, 'Links')`);
        const link = async (expiredAgoMs: number) => {
          const hash = randomBytes(32);
          await execute(tx, sql`
            INSERT INTO access_tokens (token_hash, user_id, purpose, expires_at) VALUES (${hash}, ${userId}::uuid, 'status', ${ago(expiredAgoMs)})`);
          return hash.toString('hex');
        };
        const old = await link(EXPIRED_LINK_KEEP_MS + HOUR_MS);
        const young = await link(EXPIRED_LINK_KEEP_MS - HOUR_MS);

        await sweepRetention({ pool: tx, queues: stack.queues });

        const left = await query<{ hash: string }>(tx, sql`
          SELECT encode(token_hash, 'hex') AS hash FROM access_tokens WHERE user_id = ${userId}::uuid`);
        expect(left.map((row) => row.hash)).toEqual([young]);
        expect(left.map((row) => row.hash)).not.toContain(old);
      });
    });

    it('removes completed jobs older than the retention age, and keeps recent ones', async () => {
      const queue = stack.queues.analytics;
      // Added without RETENTION's options, as by hand or by old code: BullMQ would keep them forever.
      const added = [await queue.add('legacy-job', {}), await queue.add('legacy-job', {})];
      const worker = new Worker('analytics', async () => 'done', {
        connection: stack.workerConnection(),
        prefix: queuePrefix(stack.config.queuePrefix, 'analytics'),
      });
      try {
        for (const job of added) {
          await waitFor(async () => (await queue.getJobState(job.id ?? '')) === 'completed', { what: 'the job to complete' });
        }
      } finally {
        await worker.close();
      }

      const recentKept = await sweepRetention({ pool: stack.pool, queues: stack.queues });
      expect(recentKept.completedJobsRemoved).toEqual({ email: 0, crm: 0, avatar: 0, analytics: 0 });
      expect(await queue.getCompletedCount()).toBe(2);

      // Everything counts as old with no grace; one job per clean call, so the sweep loops.
      const swept = await sweepRetention({ pool: stack.pool, queues: stack.queues }, { completedJobMaxAgeMs: 0, cleanBatchSize: 1 });
      expect(swept.completedJobsRemoved).toEqual({ email: 0, crm: 0, avatar: 0, analytics: 2 });
      expect(await queue.getCompletedCount()).toBe(0);
      for (const job of added) expect(await queue.getJob(job.id ?? '')).toBeUndefined();
    });
  });
});
