// The status page's actions against the real stack: "resend verification email" (rate-limited per
// user in PostgreSQL, the email queue's highest priority, never lost when Valkey is down) and
// "delete my account" (user, effects and pending outbox rows gone; the delayed follow-up removed
// from the queue, or skipped by its handler when it could not be). Also what the status page
// shows of the follow-up email and of a shed analytics event.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker, type Job } from 'bullmq';
import { AnalyticsShedder, type BacklogSource } from '@/app/_signup/analytics-shedding';
import { createSignup } from '@/app/_signup/create-signup';
import { deleteAccount, handleDeleteAccountRequest } from '@/app/_signup/delete-account';
import {
  handleResendVerificationRequest,
  RESEND_INTERVAL_SECONDS,
  resendVerification,
} from '@/app/_signup/resend-verification';
import { signupStatus } from '@/app/_signup/signup-status';
import { createPool, type Pool } from '@/lib/sql';
import { closeQueueSet, createQueueSet, queuePrefix, type QueueSet } from '@/lib/queues';
import { createProducerConnection, type Valkey } from '@/lib/valkey';
import { EMAIL_PRIORITY } from '@/workers/jobs/email/email-priorities';
import {
  ERASURE_JOBS,
  generateAvatar,
  sendGettingStartedEmail,
  sendInviteEmail,
  sendVerificationEmail,
  sendWelcomeEmail,
  trackSignupEvent,
} from '@/workers/jobs/job-contracts';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';
import { startValkeyProcess, type ValkeyProcess } from '@/tests/helpers/valkey-process';

let stack: TestStack;
/** Queues on a private Valkey that is stopped: the web process cannot reach Valkey. */
let valkey: ValkeyProcess;
let unreachableProducer: Valkey;
let unreachableQueues: QueueSet;
/** A database client whose server refuses connections. */
let unreachablePool: Pool;

beforeAll(async () => {
  stack = await startTestStack();
  valkey = await startValkeyProcess();
  unreachableProducer = createProducerConnection(valkey.url);
  await waitFor(() => unreachableProducer.status === 'ready', { what: 'private Valkey connection' });
  unreachableQueues = createQueueSet(unreachableProducer, stack.config.queuePrefix);
  await valkey.stop();
  // Port 1 (tcpmux) is closed on any machine that runs these tests: connecting is refused at once.
  unreachablePool = createPool('postgresql://postgres@127.0.0.1:1/signup_test', { connectionTimeoutMs: 500 });
});
afterAll(async () => {
  await unreachablePool?.end().catch(() => undefined);
  unreachableProducer?.disconnect();
  await closeQueueSet(unreachableQueues).catch(() => undefined);
  await valkey?.stop();
  await stack.close();
});

interface TestUser {
  userId: string;
  email: string;
  token: string;
}

async function newUser({ followUpDelayMs = stack.config.followUpDelayMs, shedder }: { followUpDelayMs?: number; shedder?: AnalyticsShedder } = {}): Promise<TestUser> {
  const signup = uniqueSignup();
  const outcome = await createSignup(signup, { pool: stack.pool, queues: stack.queues, followUpDelayMs, shedder });
  if (outcome.status !== 'created' || !outcome.dispatched) throw new Error(`signup was not dispatched: ${outcome.status}`);
  return { userId: outcome.userId, email: signup.email, token: outcome.statusToken };
}

const deps = () => ({ pool: stack.pool, queues: stack.queues, log: quietLog });

async function verificationRows(userId: string) {
  return stack.db.$queryRaw<Array<{ job_id: string; dispatched_at: Date | null }>>`
    SELECT job_id, dispatched_at FROM outbox_messages
     WHERE job_name = ${sendVerificationEmail.name} AND payload->>'userId' = ${userId}
     ORDER BY id`;
}

/** As if the last resend was longer ago than the limit, without waiting a minute. */
async function letIntervalPass(userId: string): Promise<void> {
  await stack.db.$executeRaw`
    UPDATE users SET verification_resent_at = now() - make_interval(secs => ${RESEND_INTERVAL_SECONDS + 1}::float8)
     WHERE id = ${userId}::uuid`;
}

/** The status behind a live link; fails the test for an expired or unknown one. */
async function liveStatus(token: string, deps: Parameters<typeof signupStatus>[1]) {
  const lookup = await signupStatus(token, deps);
  if (lookup.state !== 'live') throw new Error(`status link is ${lookup.state}`);
  return lookup.status;
}

function sent(outcome: Awaited<ReturnType<typeof resendVerification>>) {
  if (outcome.status !== 'sent') throw new Error(`resend was not accepted: ${outcome.status}`);
  return outcome;
}

describe('resend verification email', () => {
  it('answers 202, records one outbox row and adds one job at a priority below the welcome email\'s', async () => {
    const user = await newUser();
    const response = await handleResendVerificationRequest(user.token, deps());
    expect(response.status).toBe(202);

    const rows = await verificationRows(user.userId);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.dispatched_at).not.toBeNull();
    const job = await stack.queues.email.getJob(rows[0]?.job_id ?? '');
    expect(job?.name).toBe(sendVerificationEmail.name);
    expect(job?.data).toMatchObject({ userId: user.userId });
    expect(job?.opts.priority).toBe(EMAIL_PRIORITY.verificationResend);
    // BullMQ runs lower numbers first: after every welcome email, before bulk and scheduled mail.
    expect(EMAIL_PRIORITY.verificationResend).toBeGreaterThan(EMAIL_PRIORITY.welcome);
    expect(EMAIL_PRIORITY.verificationResend).toBeLessThan(Math.min(EMAIL_PRIORITY.invitation, EMAIL_PRIORITY.followUp));
  });

  describe('when asked again within the minute', () => {
    it('answers 429 with the seconds left in Retry-After, and records no second row', async () => {
      const user = await newUser();
      expect((await handleResendVerificationRequest(user.token, deps())).status).toBe(202);

      const again = await handleResendVerificationRequest(user.token, deps());
      expect(again.status).toBe(429);
      const retryAfter = Number(again.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(RESEND_INTERVAL_SECONDS - 5);
      expect(retryAfter).toBeLessThanOrEqual(RESEND_INTERVAL_SECONDS);
      expect(((await again.json()) as { retryAfterSeconds: number }).retryAfterSeconds).toBe(retryAfter);
      expect(await verificationRows(user.userId)).toHaveLength(1);
    });

    it('accepts exactly one of many presses made at the same moment', async () => {
      const user = await newUser();
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => resendVerification(user.token, deps())));
      expect(outcomes.filter((outcome) => outcome.status === 'sent')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome.status === 'too-soon')).toHaveLength(7);
      expect(await verificationRows(user.userId)).toHaveLength(1);
    });

    it('accepts the next press once the minute has passed', async () => {
      const user = await newUser();
      sent(await resendVerification(user.token, deps()));
      await letIntervalPass(user.userId);
      sent(await resendVerification(user.token, deps()));
      expect(await verificationRows(user.userId)).toHaveLength(2);
    });
  });

  it('answers 409 once the address is verified, and records nothing', async () => {
    const user = await newUser();
    await stack.db.user.update({ where: { id: user.userId }, data: { emailVerifiedAt: new Date() } });
    expect((await handleResendVerificationRequest(user.token, deps())).status).toBe(409);
    expect(await verificationRows(user.userId)).toHaveLength(0);
  });

  it('answers 404 for an unknown token', async () => {
    expect((await handleResendVerificationRequest('no-such-token', deps())).status).toBe(404);
  });

  it('answers 503 when the database is unavailable', async () => {
    const response = await handleResendVerificationRequest('any-token', { ...deps(), pool: unreachablePool });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBeTruthy();
  });

  describe('when Valkey cannot be reached', () => {
    it('still answers 202 at once and leaves the job in the outbox for the relay', async () => {
      const user = await newUser();
      const started = Date.now();
      const response = await handleResendVerificationRequest(user.token, { ...deps(), queues: unreachableQueues });
      expect(response.status).toBe(202);
      expect(Date.now() - started).toBeLessThan(2_000);

      const rows = await verificationRows(user.userId);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.dispatched_at).toBeNull();
      // Cleanup: the pending row must not be relayed into another suite's queues.
      await deleteAccount(user.token, deps());
    });
  });
});

describe('delete account', () => {
  it('deletes the user and their effects, removes the delayed follow-up from the queue, and answers 204', async () => {
    // Due within the dispatch horizon, so the follow-up is already a delayed job in Valkey.
    const user = await newUser({ followUpDelayMs: 30_000 });
    const followUpId = sendGettingStartedEmail.jobId({ userId: user.userId });
    expect(await (await stack.queues.email.getJob(followUpId))?.getState()).toBe('delayed');
    await addEveryEffect(user.userId);

    const response = await handleDeleteAccountRequest(user.token, deps());
    expect(response.status).toBe(204);

    expect(await stack.db.user.findUnique({ where: { id: user.userId } })).toBeNull();
    expect(await effectCounts(user.userId)).toEqual([0, 0, 0, 0, 0]);
    expect(await stack.queues.email.getJob(followUpId)).toBeUndefined();
    // And owes each provider an erasure, dispatched at once (tests/account-erasure.test.ts follows them).
    const erasureIds = ERASURE_JOBS.map((contract) => contract.jobId({ userId: user.userId }));
    expect(await stack.db.outboxMessage.count({ where: { jobId: { in: erasureIds }, dispatchedAt: { not: null } } })).toBe(3);
    expect(await signupStatus(user.token, stack)).toEqual({ state: 'unknown' });
    expect((await handleDeleteAccountRequest(user.token, deps())).status).toBe(404);
  });

  it('deletes the signup\'s undispatched outbox rows and no one else\'s', async () => {
    // The default follow-up, days ahead, waits in the outbox, not in Valkey.
    const user = await newUser();
    const other = await newUser();
    expect(await pendingRows(user.userId)).toEqual([sendGettingStartedEmail.jobId({ userId: user.userId })]);
    // A resend made while Valkey was unreachable: pending too, and due now.
    await resendVerification(user.token, { pool: stack.pool, queues: unreachableQueues });
    const [resendRow] = (await pendingRows(user.userId)).filter((jobId) => jobId.startsWith(sendVerificationEmail.name));
    expect(resendRow).toBeDefined();

    const outcome = await deleteAccount(user.token, deps());
    expect(outcome).toMatchObject({ status: 'deleted', followUpRemoved: true });
    // The resend is left to the relay; its handler finds no user and sends nothing.
    expect(await pendingRows(user.userId)).toEqual([resendRow]);
    // Not for another file's relay to find.
    await stack.db.outboxMessage.deleteMany({ where: { jobId: resendRow } });
    expect(await pendingRows(other.userId)).toEqual([sendGettingStartedEmail.jobId({ userId: other.userId })]);
  });

  it('answers 404 for an unknown token and 503 when the database is unavailable', async () => {
    expect((await handleDeleteAccountRequest('no-such-token', deps())).status).toBe(404);
    expect((await handleDeleteAccountRequest('any-token', { ...deps(), pool: unreachablePool })).status).toBe(503);
  });
});

describe('with an email worker running', () => {
  let workers: RunningWorkers;

  beforeAll(() => {
    // One job at a time, so the order jobs run in is the order the queue hands them out.
    workers = startWorkers({
      config: { ...stack.config, workerQueues: ['email'] },
      pool: stack.pool,
      connection: stack.workerConnection(),
      log: quietLog,
      concurrency: { email: 1 },
    });
  });
  afterAll(async () => {
    await workers?.close(5_000);
  });

  it('sends exactly one verification email per accepted press', async () => {
    const user = await newUser();
    const first = sent(await resendVerification(user.token, deps()));
    expect((await resendVerification(user.token, deps())).status).toBe('too-soon');
    // Sent before the next press: a press while it still waits would add nothing
    // (tests/job-deduplication.test.ts).
    await waitFor(() => stack.db.sentEmail.findUnique({ where: { jobId: first.jobId } }), { what: 'the first email recorded' });
    await letIntervalPass(user.userId);
    const second = sent(await resendVerification(user.token, deps()));

    await waitFor(
      async () => (await stack.db.sentEmail.count({ where: { userId: user.userId, kind: 'verification-resend' } })) === 2,
      { what: 'two verification emails recorded' },
    );
    const mails = (await stack.inspect('smtp')).filter((record) => record.key.includes(sendVerificationEmail.name));
    const toUser = mails.filter((record) => (record.body as { to: string[] }).to.includes(user.email));
    expect(toUser.map((record) => record.deliveries)).toEqual([1, 1]);
    expect(toUser.map((record) => record.key).sort()).toEqual(
      [first.jobId, second.jobId].map((jobId) => `<${jobId}@signup.example>`).sort(),
    );
  });

  it('runs a resend after the waiting welcome emails and ahead of a backlog of invitations', async () => {
    const user = await newUser();
    // Welcome emails (priority 1) for users and invitations (priority 3) that do not exist: their
    // handlers skip them after one database read, so the backlog drains in a few seconds.
    const backlog = Array.from({ length: 300 }, (_, index) =>
      index % 2 === 0
        ? backlogJob(sendInviteEmail, { invitationId: randomUUID() })
        : backlogJob(sendWelcomeEmail, { userId: randomUUID() }),
    );
    const added = await stack.queues.email.addBulk(backlog);
    const resend = sent(await resendVerification(user.token, deps()));

    const resendJob = await waitFor(
      async () => {
        const job = await stack.queues.email.getJob(resend.jobId);
        return job?.finishedOn ? job : undefined;
      },
      { what: 'the resend to finish' },
    );
    expect(resendJob.returnvalue).toMatchObject({ status: 'applied' });
    const finished = await waitFor(
      async () => {
        const jobs = await Promise.all(added.map((job) => stack.queues.email.getJob(job.id ?? '')));
        return jobs.every((job) => job?.finishedOn) ? (jobs as Job[]) : undefined;
      },
      { what: 'the backlog to drain', timeoutMs: 25_000 },
    );
    // The welcomes are taken first (a flood of resends must never delay one:
    // tests/resend-flood.test.ts); the worker runs 20 at once, so the last of them may still be
    // running when the resend finishes. Of the invitations, only those the worker took in the
    // milliseconds between the backlog's add and the resend's may finish first; in arrival order it
    // would be all 150.
    const aheadOfResend = finished.filter((job) => (job.finishedOn ?? 0) < (resendJob.finishedOn ?? 0));
    expect(aheadOfResend.filter((job) => job.name === sendWelcomeEmail.name).length).toBeGreaterThanOrEqual(130);
    expect(aheadOfResend.filter((job) => job.name === sendInviteEmail.name).length).toBeLessThanOrEqual(20);
  });

  it('skips the follow-up of a deleted account that reached the worker anyway', async () => {
    // Due in two seconds, so it is a delayed job in Valkey; the deletion cannot reach Valkey, so
    // the job stays, and the handler's read of the user is what stops the email.
    const user = await newUser({ followUpDelayMs: 2_000 });
    const followUpId = sendGettingStartedEmail.jobId({ userId: user.userId });
    expect(await (await stack.queues.email.getJob(followUpId))?.getState()).toBe('delayed');

    const outcome = await deleteAccount(user.token, { pool: stack.pool, queues: unreachableQueues });
    expect(outcome).toMatchObject({ status: 'deleted', followUpRemoved: false, erasuresDispatched: false });
    // The erasure jobs wait in the outbox for the relay (tests/account-erasure.test.ts runs them);
    // not for another file's relay to find.
    const erasureIds = ERASURE_JOBS.map((contract) => contract.jobId({ userId: user.userId }));
    expect(await pendingRows(user.userId)).toEqual(expect.arrayContaining(erasureIds));
    await stack.db.outboxMessage.deleteMany({ where: { jobId: { in: erasureIds } } });

    const job = await waitFor(
      async () => {
        const found = await stack.queues.email.getJob(followUpId);
        return found?.finishedOn ? found : undefined;
      },
      { what: 'the follow-up to run' },
    );
    expect(job.returnvalue).toEqual({ status: 'skipped', reason: 'user deleted' });
    expect((await stack.inspect('smtp')).filter((record) => record.key.includes(followUpId))).toEqual([]);
    expect(await stack.db.sentEmail.count({ where: { jobId: followUpId } })).toBe(0);
  });

  it('shows the follow-up as sent once it went out', async () => {
    const user = await newUser({ followUpDelayMs: 200 });
    const followUpId = sendGettingStartedEmail.jobId({ userId: user.userId });
    await waitFor(async () => (await stack.db.sentEmail.count({ where: { jobId: followUpId, kind: 'getting-started' } })) === 1, {
      what: 'the follow-up email',
    });
    const status = await liveStatus(user.token, stack);
    expect(status?.followUpEmail).toMatchObject({ name: sendGettingStartedEmail.name, state: 'sent' });
    expect(status?.followUpEmail?.sentAt).toBeTruthy();
  });
});

describe('the status page', () => {
  it('shows the follow-up as scheduled for its time while it waits', async () => {
    const before = Date.now();
    const user = await newUser();
    const status = await liveStatus(user.token, stack);
    expect(status?.followUpEmail).toMatchObject({ label: 'Getting started email', state: 'scheduled' });
    const due = Date.parse(status?.followUpEmail?.scheduledFor ?? '');
    expect(due).toBeGreaterThanOrEqual(before + stack.config.followUpDelayMs);
    expect(due).toBeLessThanOrEqual(Date.now() + stack.config.followUpDelayMs);
  });

  it('shows the avatar of an avatar job that completed between its database and its queue reads', async () => {
    const user = await newUser();
    const avatarJobId = generateAvatar.jobId({ userId: user.userId });
    // The interleaving, made certain: just before the status asks BullMQ about the avatar job, a
    // worker stores the avatar and BullMQ marks the job completed, as the real handler does.
    const completeAvatarJob = async () => {
      const worker = new Worker(
        'avatar',
        async (job) => {
          // Other tests' avatar jobs in this queue complete untouched: none of them looks at avatars.
          if (job.id !== avatarJobId) return;
          await stack.db.avatar.create({ data: { userId: user.userId, url: 'http://storage.test/avatar.png' } });
        },
        { connection: stack.workerConnection(), prefix: queuePrefix(stack.config.queuePrefix, 'avatar') },
      );
      try {
        await waitFor(async () => (await stack.queues.avatar.getJobState(avatarJobId)) === 'completed', {
          what: 'the avatar job to complete',
        });
      } finally {
        await worker.close();
      }
    };
    const avatarQueue = stack.queues.avatar;
    const interleaved: QueueSet = {
      ...stack.queues,
      avatar: new Proxy(avatarQueue, {
        get(target, property, receiver) {
          if (property !== 'getJob') return Reflect.get(target, property, receiver);
          return async (id: string) => {
            if (id === avatarJobId) await completeAvatarJob();
            return target.getJob(id);
          };
        },
      }),
    };

    const status = await liveStatus(user.token, { pool: stack.pool, queues: interleaved });
    expect(status?.jobs.find((job) => job.name === generateAvatar.name)?.state).toBe('done');
    expect(status?.avatarReady).toBe(true);
  });

  it('marks an analytics event dropped by load shedding, and keeps the JSON\'s earlier fields', async () => {
    const overloaded: BacklogSource = { getJobCounts: async () => ({ waiting: 1_000_000 }) };
    const shedder = new AnalyticsShedder(overloaded, { depth: 1, keepRatio: 0 });
    await shedder.refresh();
    const user = await newUser({ shedder });

    const status = await liveStatus(user.token, stack);
    expect(status).toMatchObject({
      name: expect.any(String),
      workspace: 'acme',
      emailVerified: false,
      avatarReady: false,
      queueReachable: true,
    });
    const analytics = status?.jobs.find((job) => job.name === trackSignupEvent.name);
    expect(analytics).toMatchObject({ state: 'not-queued', notQueuedReason: 'load-shedding' });
    expect(status?.jobs.filter((job) => job.notQueuedReason)).toHaveLength(1);
  });
});

function backlogJob<Payload extends Record<string, unknown>>(
  contract: { name: string; options: object; jobId(payload: Payload): string },
  payload: Payload,
) {
  return { name: contract.name, data: payload, opts: { ...contract.options, jobId: contract.jobId(payload) } };
}

async function pendingRows(userId: string): Promise<string[]> {
  const rows = await stack.db.$queryRaw<Array<{ job_id: string }>>`
    SELECT job_id FROM outbox_messages WHERE dispatched_at IS NULL AND payload->>'userId' = ${userId} ORDER BY id`;
  return rows.map((row) => row.job_id);
}

async function addEveryEffect(userId: string): Promise<void> {
  await stack.db.welcomeEmail.create({ data: { userId, messageId: `<welcome-${userId}@test>` } });
  await stack.db.crmContact.create({ data: { userId, crmContactId: `crm-${userId}` } });
  await stack.db.avatar.create({ data: { userId, url: 'http://storage.test/avatar.png' } });
  await stack.db.analyticsEvent.create({ data: { userId, eventId: `event-${userId}`, name: 'user_signed_up' } });
  await stack.db.sentEmail.create({
    data: { userId, jobId: `job-${userId}`, kind: 'verification-resend', messageId: `<resend-${userId}@test>` },
  });
}

async function effectCounts(userId: string): Promise<number[]> {
  return Promise.all([
    stack.db.welcomeEmail.count({ where: { userId } }),
    stack.db.crmContact.count({ where: { userId } }),
    stack.db.avatar.count({ where: { userId } }),
    stack.db.analyticsEvent.count({ where: { userId } }),
    stack.db.sentEmail.count({ where: { userId } }),
  ]);
}
