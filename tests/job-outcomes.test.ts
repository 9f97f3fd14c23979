// Jobs that skip on purpose, against real PostgreSQL, Valkey and workers: each leaves one
// job_outcomes row, so once BullMQ has trimmed it the reconciler counts it as done instead of
// running it again as lost (and counting a data-loss repair). And the retention sweep bounds them.
//
// The database is shared with other files: the outbox rows here are moved to a random instant days
// ago and reconciled in a window around it (as tests/helpers/reconcile-window.ts does for signups),
// and the sweep's fixtures live in a transaction that is rolled back.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '@/lib/metrics';
import { dispatchNow, writeOutbox, type OutboxRow } from '@/lib/outbox';
import { execute, query, sql, transaction, type Queryable } from '@/lib/sql';
import { outboxEntry } from '@/workers/jobs/define-job';
import { sendInviteEmail, sendVerificationEmail } from '@/workers/jobs/job-contracts';
import { RECONCILE_DEFAULTS, reconcileOnce } from '@/workers/maintenance/reconciler';
import { DISPATCHED_ROW_MAX_AGE_MS, sweepRetention } from '@/workers/maintenance/retention-sweep';
import { startWorkers } from '@/workers/runtime/start-workers';
import { MARGIN_MS } from '@/tests/helpers/reconcile-window';
import { quietLog, startTestStack, waitFor, type TestStack } from '@/tests/helpers/test-stack';

const HOUR_MS = 60 * 60 * 1_000;
const DAY_MS = 24 * HOUR_MS;
const RUN = `outcomes-${randomUUID().slice(0, 8)}`;

let stack: TestStack;
const jobIds: string[] = [];

beforeAll(async () => {
  // Only the email queue: both jobs here are emails.
  stack = await startTestStack({ WORKER_QUEUES: 'email' });
});
afterAll(async () => {
  await stack.db.outboxMessage.deleteMany({ where: { jobId: { in: jobIds } } });
  await stack.db.jobOutcome.deleteMany({ where: { jobId: { in: jobIds } } });
  await stack.db.invitation.deleteMany({ where: { workspace: { startsWith: RUN } } });
  await stack.db.user.deleteMany({ where: { email: { startsWith: RUN } } });
  await stack.close();
});

interface SkippedCase {
  row: OutboxRow;
  /** What the handler says; stored as the outcome's reason. */
  reason: string;
  /** Part of the Message-ID an email of this job would carry. */
  marker: string;
}

/** An invitation to an address that signed up since it was invited: nobody to invite. */
async function inviteToAnExistingAccount(): Promise<SkippedCase> {
  const tenant = `${RUN}-${randomUUID().slice(0, 8)}`;
  const email = `${tenant}@example.test`;
  await stack.db.user.create({ data: { email, name: 'Already Here' } });
  const invitation = await stack.db.invitation.create({ data: { id: randomUUID(), workspace: tenant, email } });
  const [row] = await writeOutbox(stack.pool, [outboxEntry(sendInviteEmail, { invitationId: invitation.id }, { tenant })]);
  if (!row) throw new Error('no outbox row written');
  jobIds.push(row.jobId);
  return { row, reason: 'address already has an account', marker: invitation.id };
}

/** "Resend verification email", run after the address was confirmed: nothing left to confirm. */
async function resendAfterVerification(): Promise<SkippedCase> {
  const user = await stack.db.user.create({
    data: { email: `${RUN}-${randomUUID().slice(0, 8)}@example.test`, name: 'Verified', emailVerifiedAt: new Date() },
  });
  const requestId = randomUUID();
  const [row] = await writeOutbox(stack.pool, [outboxEntry(sendVerificationEmail, { userId: user.id, requestId, reason: 'verify' })]);
  if (!row) throw new Error('no outbox row written');
  jobIds.push(row.jobId);
  return { row, reason: 'address already verified', marker: requestId };
}

/** Dispatches the rows as the fast path does, and waits until workers have completed each job. */
async function runToCompletion(cases: SkippedCase[]): Promise<void> {
  expect(await dispatchNow(stack.pool, stack.dispatch, cases.map(({ row }) => row))).toBe(true);
  const workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
  try {
    for (const { row } of cases) {
      await waitFor(async () => (await stack.queues.email.getJobState(row.jobId)) === 'completed', { what: `${row.jobName} to complete` });
    }
  } finally {
    await workers.close(5_000);
  }
}

/** What BullMQ's removeOnComplete does once a day or 10,000 jobs have passed. */
async function trim(cases: SkippedCase[]): Promise<void> {
  for (const { row } of cases) await (await stack.queues.email.getJob(row.jobId))?.remove();
  for (const { row } of cases) expect(await stack.queues.email.getJob(row.jobId)).toBeUndefined();
}

async function outcomesOf(cases: SkippedCase[]) {
  return query<{ job_id: string; outcome: string; reason: string; recorded_at: Date }>(stack.pool, sql`
    SELECT job_id, outcome, reason, recorded_at FROM job_outcomes
     WHERE job_id = ANY(${cases.map(({ row }) => row.jobId)}::text[]) ORDER BY job_id`);
}

/** Moves the rows to one random instant 1–30 days ago; returns a reconcile window around it only. */
async function backdate(cases: SkippedCase[]) {
  const ageMs = DAY_MS + Math.floor(Math.random() * 29 * DAY_MS);
  await execute(stack.pool, sql`
    UPDATE outbox_messages SET created_at = now() - make_interval(secs => ${ageMs / 1_000}::float8)
     WHERE job_id = ANY(${cases.map(({ row }) => row.jobId)}::text[])`);
  return { graceMs: ageMs - MARGIN_MS, lookbackMs: ageMs + MARGIN_MS, batchSize: 100 };
}

async function repairsCounted(): Promise<number> {
  return (await metrics().reconcilerRepairs.get()).values.reduce((sum, { value }) => sum + value, 0);
}

describe('a job that skips on purpose', () => {
  it('completes as skipped, sends nothing, and leaves one outcome row however often it runs', async () => {
    const cases = [await inviteToAnExistingAccount(), await resendAfterVerification()];
    await runToCompletion(cases);

    for (const { row, reason } of cases) {
      expect((await stack.queues.email.getJob(row.jobId))?.returnvalue).toEqual({ status: 'skipped', reason });
    }
    const first = await outcomesOf(cases);
    expect(first.map(({ job_id, outcome, reason }) => ({ job_id, outcome, reason }))).toEqual(
      cases
        .map(({ row, reason }) => ({ job_id: row.jobId, outcome: 'skipped', reason }))
        .sort((a, b) => a.job_id.localeCompare(b.job_id)),
    );

    // Run again under the same ids, as a redelivery or a replay would.
    await trim(cases);
    await runToCompletion(cases);
    expect(await outcomesOf(cases)).toEqual(first);

    const emails = await stack.inspect('smtp');
    for (const { marker } of cases) expect(emails.filter((email) => email.key.includes(marker))).toEqual([]);
    expect(await stack.db.sentEmail.count({ where: { jobId: { in: cases.map(({ row }) => row.jobId) } } })).toBe(0);
  });
});

describe('the reconciler, once skipped jobs are trimmed from Valkey', () => {
  it('re-enqueues none of them and counts no repair, and would without their outcome rows', async () => {
    const cases = [await inviteToAnExistingAccount(), await resendAfterVerification()];
    await runToCompletion(cases);
    await trim(cases);
    const window = await backdate(cases);
    const repairsBefore = await repairsCounted();

    expect(await reconcileOnce(stack.pool, stack.queues, window)).toEqual({ checked: 0, reenqueued: 0, deadLettersWritten: 0 });
    for (const { row } of cases) expect(await stack.queues.email.getJob(row.jobId)).toBeUndefined();
    expect(await repairsCounted()).toBe(repairsBefore);

    // The same rows, in the same window, without the record: exactly the false repairs it prevents.
    await stack.db.jobOutcome.deleteMany({ where: { jobId: { in: cases.map(({ row }) => row.jobId) } } });
    expect(await reconcileOnce(stack.pool, stack.queues, window)).toEqual({ checked: 2, reenqueued: 2, deadLettersWritten: 0 });
    expect(await repairsCounted()).toBe(repairsBefore + 2);
  });
});

class RolledBack extends Error {
  override name = 'RolledBack';
}

/** Runs `run` in a transaction that is rolled back, so no other file's sweep or pass sees its rows. */
async function withUncommittedRows(run: (tx: Queryable) => Promise<void>): Promise<void> {
  const outcome: unknown = await transaction(stack.pool, async (tx) => {
    await run(tx);
    throw new RolledBack();
  }).catch((error: unknown) => error);
  if (!(outcome instanceof RolledBack)) throw outcome;
}

async function insertOutcome(tx: Queryable, recordedAgoMs: number): Promise<string> {
  const jobId = `${RUN}-${randomUUID()}`;
  await execute(tx, sql`
    INSERT INTO job_outcomes (job_id, queue, job_name, outcome, reason, recorded_at)
    VALUES (${jobId}, 'email', ${sendInviteEmail.name}, 'skipped', 'address already has an account',
            now() - make_interval(secs => ${recordedAgoMs / 1_000}::float8))`);
  return jobId;
}

async function existingOutcomes(tx: Queryable, ids: string[]): Promise<string[]> {
  const rows = await query<{ job_id: string }>(tx, sql`SELECT job_id FROM job_outcomes WHERE job_id = ANY(${ids}::text[])`);
  return rows.map((row) => row.job_id).sort();
}

describe('the retention sweep', () => {
  it('deletes outcome rows past the cutoff, batch after batch, and keeps recent ones', async () => {
    // A random age, so concurrent runs never share a cutoff.
    const ageMs = DAY_MS + Math.floor(Math.random() * 5 * DAY_MS);
    await withUncommittedRows(async (tx) => {
      const old = [await insertOutcome(tx, ageMs), await insertOutcome(tx, ageMs), await insertOutcome(tx, ageMs)];
      const recent = await insertOutcome(tx, ageMs - 2 * MARGIN_MS);

      // Fewer rows per statement than there are old rows: one sweep still deletes them all.
      const result = await sweepRetention({ pool: tx, queues: stack.queues }, { jobOutcomeMaxAgeMs: ageMs - MARGIN_MS, deleteBatchSize: 2 });

      expect(await existingOutcomes(tx, [...old, recent])).toEqual([recent]);
      expect(result.jobOutcomesDeleted).toBeGreaterThanOrEqual(old.length);
    });
  });

  it('by default keeps every outcome the reconciler may still need, and deletes older ones', async () => {
    expect(DISPATCHED_ROW_MAX_AGE_MS).toBeGreaterThan(RECONCILE_DEFAULTS.lookbackMs);
    await withUncommittedRows(async (tx) => {
      const pastCutoff = await insertOutcome(tx, DISPATCHED_ROW_MAX_AGE_MS + HOUR_MS);
      const pastLookback = await insertOutcome(tx, RECONCILE_DEFAULTS.lookbackMs + HOUR_MS);
      const withinLookback = await insertOutcome(tx, RECONCILE_DEFAULTS.lookbackMs - HOUR_MS);

      await sweepRetention({ pool: tx, queues: stack.queues });

      expect(await existingOutcomes(tx, [pastCutoff, pastLookback, withinLookback])).toEqual([pastLookback, withinLookback].sort());
    });
  });
});
