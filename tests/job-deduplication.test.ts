// BullMQ's deduplication where one run serves many requests: presses of "resend verification"
// that the per-user waits let through while the user's email still waits in a stuck queue add no
// job of their own, are counted, and are accounted for by the reconciler. Real Valkey, PostgreSQL,
// mock SMTP and worker processes (docs/backpressure.md#job-ids-or-deduplication).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignup } from '@/app/_signup/create-signup';
import { MAX_WAIT_SECONDS, resendVerification } from '@/app/_signup/resend-verification';
import { metrics } from '@/lib/metrics';
import { unlinkMatching } from '@/lib/valkey';
import { sendVerificationEmail } from '@/workers/jobs/job-contracts';
import { reconcileOnce } from '@/workers/maintenance/reconciler';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { backdate } from '@/tests/helpers/reconcile-window';
import { jobCounts, quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';

let stack: TestStack;
const users: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack.db.$executeRaw`DELETE FROM dead_letters WHERE payload->>'userId' = ANY(${users}::text[])`;
  // Backdated rows must not turn up in a later pass's window, in this run or the next.
  await stack.db.$executeRaw`DELETE FROM outbox_messages WHERE payload->>'userId' = ANY(${users}::text[])`;
  await stack.close();
});

interface TestUser {
  userId: string;
  email: string;
  token: string;
}

async function newUser(): Promise<TestUser> {
  const signup = uniqueSignup();
  const outcome = await createSignup(signup, { pool: stack.pool, queues: stack.queues, followUpDelayMs: stack.config.followUpDelayMs });
  if (outcome.status !== 'created' || !outcome.dispatched) throw new Error(`signup was not dispatched: ${outcome.status}`);
  users.push(outcome.userId);
  return { userId: outcome.userId, email: signup.email, token: outcome.statusToken };
}

/** A press of "resend", as if the growing wait since the last one had passed (it is a day at most). */
async function press(user: TestUser) {
  await stack.db.$executeRaw`
    UPDATE users SET verification_resent_at = now() - make_interval(secs => ${MAX_WAIT_SECONDS + 1}::float8)
     WHERE id = ${user.userId}::uuid AND verification_resent_at IS NOT NULL`;
  const outcome = await resendVerification(user.token, { pool: stack.pool, queues: stack.queues });
  if (outcome.status !== 'sent' || !outcome.dispatched) throw new Error(`press was not dispatched: ${outcome.status}`);
  return outcome;
}

async function deduplicatedAdds(): Promise<number> {
  const { values } = await metrics().jobsDeduplicated.get();
  return values.find((value) => value.labels.queue === 'email' && value.labels.job === sendVerificationEmail.name)?.value ?? 0;
}

/** The jobs of these presses that exist in Valkey, in any state. */
async function existingJobs(jobIds: string[]): Promise<string[]> {
  const jobs = await Promise.all(jobIds.map((jobId) => stack.queues.email.getJob(jobId)));
  return jobs.flatMap((job) => (job?.id ? [job.id] : []));
}

/** Verification emails the mock SMTP server received for the user, by Message-ID. */
async function emailsTo(user: TestUser): Promise<string[]> {
  const records = await stack.inspect('smtp');
  return records
    .filter((record) => record.key.includes(sendVerificationEmail.name) && record.deliveries > 0)
    .filter((record) => (record.body as { to: string[] }).to.includes(user.email))
    .map((record) => record.key)
    .sort();
}

async function emailQueueIdle(): Promise<boolean> {
  const { waiting = 0, active = 0, delayed = 0, prioritized = 0 } = await jobCounts(stack.queues, 'email');
  return waiting + active + delayed + prioritized === 0;
}

async function withWorkers<T>(run: () => Promise<T>): Promise<T> {
  const workers: RunningWorkers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
  try {
    return await run();
  } finally {
    await workers.close(5_000);
  }
}

describe('verification resends', () => {
  describe('when presses pile up while the first email waits in the queue', () => {
    it('enqueues one job, sends one email, counts the rest, and lets the next press through once it was sent', async () => {
      const user = await newUser();
      const before = await deduplicatedAdds();

      // No worker runs: the email queue is stuck, as when SMTP is down or behind a backlog.
      const presses = [];
      for (let count = 0; count < 4; count += 1) presses.push(await press(user));
      const jobIds = presses.map((outcome) => outcome.jobId);
      expect(await existingJobs(jobIds)).toEqual([jobIds[0]]);
      expect(await deduplicatedAdds()).toBe(before + 3);
      const rows = await stack.db.outboxMessage.findMany({ where: { jobId: { in: jobIds } } });
      expect(rows.map((row) => row.dispatchedAt !== null)).toEqual([true, true, true, true]);

      await withWorkers(async () => {
        await waitFor(async () => (await emailsTo(user)).length === 1 && (await emailQueueIdle()), { what: 'the email sent', timeoutMs: 20_000 });
        expect(await emailsTo(user)).toEqual([`<${jobIds[0]}@signup.example>`]);

        const next = await press(user);
        expect(await existingJobs([next.jobId])).toEqual([next.jobId]);
        await waitFor(async () => (await emailsTo(user)).length === 2, { what: 'the next email', timeoutMs: 20_000 });
      });
      expect(await deduplicatedAdds()).toBe(before + 3);
      expect(await stack.db.sentEmail.count({ where: { userId: user.userId, kind: 'verification-resend' } })).toBe(2);
    });
  });

  describe('when a press comes while the email is being sent', () => {
    it('keeps it and sends it after, since the link in that email was minted before the press', async () => {
      const user = await newUser();
      await stack.setFault('smtp', { mode: 'slow', latencyMs: 1_000 });
      try {
        await withWorkers(async () => {
          const first = await press(user);
          await waitFor(async () => (await (await stack.queues.email.getJob(first.jobId))?.getState()) === 'active', {
            what: 'the first email being sent',
          });
          const during = await press(user);
          expect(await existingJobs([during.jobId])).toEqual([]);
          await waitFor(async () => (await emailsTo(user)).length === 2, { what: 'both emails', timeoutMs: 20_000 });
          expect(await emailsTo(user)).toEqual([first.jobId, during.jobId].map((jobId) => `<${jobId}@signup.example>`).sort());
        });
      } finally {
        await stack.setFault('smtp', { mode: 'up' });
      }
    });
  });
});

describe('the reconciler and a collapsed press', () => {
  it('does not re-enqueue it while the email it joined waits, nor once that email was sent', async () => {
    const user = await newUser();
    const waiting = await press(user);
    const collapsed = await press(user);
    const { window } = await backdate(stack.db, [user.userId]);
    const before = await deduplicatedAdds();

    expect(await reconcileOnce(stack.pool, stack.queues, window)).toMatchObject({ reenqueued: 0 });
    expect(await existingJobs([waiting.jobId, collapsed.jobId])).toEqual([waiting.jobId]);
    expect(await deduplicatedAdds()).toBe(before);

    await withWorkers(() =>
      waitFor(async () => (await emailsTo(user)).length === 1 && (await emailQueueIdle()), { what: 'the email sent', timeoutMs: 20_000 }),
    );
    expect(await reconcileOnce(stack.pool, stack.queues, window)).toMatchObject({ reenqueued: 0 });
    expect(await existingJobs([collapsed.jobId])).toEqual([]);
    expect(await emailsTo(user)).toEqual([`<${waiting.jobId}@signup.example>`]);
  });

  it('puts back one job for both after Valkey lost them, and one email goes out', async () => {
    const user = await newUser();
    const waiting = await press(user);
    const collapsed = await press(user);
    const { window } = await backdate(stack.db, [user.userId]);
    await unlinkMatching(stack.producer, `${stack.config.queuePrefix}:*`);

    // The signup's four jobs and both presses were lost; the second press collapses again.
    expect(await reconcileOnce(stack.pool, stack.queues, window)).toMatchObject({ reenqueued: 6 });
    expect(await existingJobs([waiting.jobId, collapsed.jobId])).toEqual([waiting.jobId]);

    await withWorkers(() =>
      waitFor(async () => (await emailsTo(user)).length === 1 && (await emailQueueIdle()), { what: 'the email sent', timeoutMs: 20_000 }),
    );
    expect(await emailsTo(user)).toEqual([`<${waiting.jobId}@signup.example>`]);
  });

  it('re-enqueues it when the email it joined failed for good, even though an older email was sent', async () => {
    const user = await newUser();
    const older = await press(user);
    await withWorkers(() =>
      waitFor(async () => (await emailsTo(user)).length === 1 && (await emailQueueIdle()), { what: 'the older email', timeoutMs: 20_000 }),
    );

    const failing = await press(user);
    const collapsed = await press(user);
    await stack.setFault('smtp', { mode: 'reject' });
    try {
      await withWorkers(() =>
        waitFor(() => stack.db.deadLetter.findFirst({ where: { jobId: failing.jobId } }), { what: 'the dead letter' }),
      );
    } finally {
      await stack.setFault('smtp', { mode: 'up' });
    }
    const { ageMs, window } = await backdate(stack.db, [user.userId]);
    // The older email went out before both presses, as it did in real time before the backdating.
    await stack.db.$executeRaw`
      UPDATE sent_emails SET sent_at = now() - make_interval(secs => ${ageMs / 1_000 + 3_600}::float8)
       WHERE job_id = ${older.jobId}`;

    expect(await reconcileOnce(stack.pool, stack.queues, window)).toMatchObject({ reenqueued: 1 });
    expect(await existingJobs([collapsed.jobId])).toEqual([collapsed.jobId]);
    await withWorkers(() => waitFor(async () => (await emailsTo(user)).length === 2, { what: 'the collapsed press served', timeoutMs: 20_000 }));
    expect(await emailsTo(user)).toEqual([older.jobId, collapsed.jobId].map((jobId) => `<${jobId}@signup.example>`).sort());
  });
});
