// Per-tenant limits in the worker (lib/tenant-limits.ts), against real worker processes, the real
// mock SMTP server and the invite endpoint's own producer. The producer's pacing assumes the queue
// runs at its nominal rate; these tests slow the SMTP relay so it does not, and the worker's limits
// must keep the promise on their own.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSignup } from '@/app/_signup/create-signup';
import { inviteMembers } from '@/app/_workspaces/invite-members';
import { tenantOf, topHeldTenants } from '@/lib/tenant-limits';
import { sendInviteEmail, SIGNUP_JOBS } from '@/workers/jobs/job-contracts';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { startWorkerProcess, type WorkerProcess } from '@/tests/helpers/worker-process';
import { quietLog, relayPending, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';

interface SmtpRecord {
  key: string;
  deliveries: number;
  lastAt: string;
}

async function withStack(overrides: Record<string, string>, run: (stack: TestStack, workspace: (name: string) => string) => Promise<void>) {
  const stack = await startTestStack({ WORKER_QUEUES: 'email', ...overrides });
  const workspaces: string[] = [];
  try {
    await run(stack, (name) => {
      const slug = `${name}-${crypto.randomUUID().slice(0, 8)}`;
      workspaces.push(slug);
      return slug;
    });
  } finally {
    await stack.setFault('smtp', { mode: 'up' }).catch(() => undefined);
    await stack.db.outboxMessage.deleteMany({ where: { tenant: { in: workspaces } } });
    await stack.db.invitation.deleteMany({ where: { workspace: { in: workspaces } } });
    await stack.close();
  }
}

async function invite(stack: TestStack, slug: string, count: number): Promise<string[]> {
  const emails = Array.from({ length: count }, (_, index) => `member-${index}@${slug}.test`);
  const outcome = await inviteMembers({ workspace: slug, emails }, { pool: stack.pool, queues: stack.queues });
  expect(outcome).toMatchObject({ status: 'invited', count });
  // What the relay would do for a batch that missed the producer's enqueue deadline.
  if (outcome.status === 'invited' && !outcome.dispatched) await relayPending(stack);
  const invitations = await stack.db.invitation.findMany({ where: { workspace: slug }, select: { id: true } });
  return invitations.map((invitation) => invitation.id);
}

/** Milliseconds from the first to the last of sorted times. */
function spanOf(sorted: number[]): number {
  return (sorted.at(-1) ?? 0) - (sorted[0] ?? 0);
}

function sent(stack: TestStack, ids: string[]): Promise<number> {
  return stack.db.sentEmail.count({ where: { invitationId: { in: ids } } });
}

describe("a signup's jobs", () => {
  it('belong to its workspace, or, without one, each to the signup itself', async () => {
    await withStack({}, async (stack, workspace) => {
      const slug = workspace('signups');
      const deps = { pool: stack.pool, queues: stack.queues, followUpDelayMs: stack.config.followUpDelayMs };
      const inWorkspace = await createSignup(uniqueSignup({ workspace: slug }), deps);
      const alone = await createSignup(uniqueSignup({ workspace: undefined }), deps);
      if (inWorkspace.status !== 'created' || alone.status !== 'created') throw new Error('signups not created');
      for (const contract of SIGNUP_JOBS) {
        const [ofWorkspace, ofAlone] = await Promise.all([
          stack.queues[contract.queue].getJob(contract.jobId({ userId: inWorkspace.userId })),
          stack.queues[contract.queue].getJob(contract.jobId({ userId: alone.userId })),
        ]);
        expect(ofWorkspace && tenantOf(ofWorkspace), contract.name).toBe(slug);
        expect(ofAlone && tenantOf(ofAlone), contract.name).toBe(alone.userId);
      }
      await stack.db.user.deleteMany({ where: { id: { in: [inWorkspace.userId, alone.userId] } } });
    });
  });
});

describe('when the email queue runs at a quarter of its rate (each send takes 250 ms)', () => {
  const BACKLOG = 5_000;
  let workers: RunningWorkers | undefined;
  afterEach(async () => {
    await workers?.close(2_000);
  });

  it("sends workspace B's one invitation within 5 s, behind none of A's 5,000", async () => {
    await withStack({ TENANT_LIMITS: 'email=8' }, async (stack, workspace) => {
      // A worker's 5 SMTP connections at 250 ms a message: 20 a second, a quarter of the queue's 80.
      await stack.setFault('smtp', { mode: 'slow', latencyMs: 250 });
      const a = workspace('a');
      const backlog = await invite(stack, a, BACKLOG);
      workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
      // Long enough for the producer's pacing (80 a second) to have released several hundred of
      // A's jobs more than a quarter-speed queue could send.
      await waitFor(async () => ((await topHeldTenants(stack.producer, stack.queues.email.qualifiedName, 1))[0]?.held ?? 0) > 300, {
        what: "A's released jobs held for their turn",
        timeoutMs: 20_000,
        intervalMs: 100,
      });

      const [invitationId] = await invite(stack, workspace('b'), 1);
      const invitedAt = Date.now();
      await waitFor(() => stack.db.sentEmail.findFirst({ where: { invitationId } }), {
        what: "B's invitation sent",
        timeoutMs: 5_000,
        intervalMs: 50,
      });
      const latencyMs = Date.now() - invitedAt;
      expect(latencyMs).toBeLessThan(5_000);

      // A kept its eight places meanwhile, and the rest of its released jobs wait their turn.
      const [load] = await topHeldTenants(stack.producer, stack.queues.email.qualifiedName, 1);
      expect(load).toMatchObject({ tenant: a });
      expect(load?.running).toBeLessThanOrEqual(8);
      expect(load?.held).toBeGreaterThan(100);
      expect(await sent(stack, backlog)).toBeLessThan(BACKLOG);

      // Held jobs spent no attempt: they were started and put back, and still have all of theirs.
      const heldJobs = await stack.queues.email.getDelayed(0, -1);
      const putBack = heldJobs.filter((job) => job.attemptsStarted > 0);
      expect(putBack.length).toBeGreaterThan(0);
      expect(putBack.every((job) => job.attemptsMade === 0)).toBe(true);
    });
  }, 90_000);
});

describe('a per-tenant concurrency cap of 2 over 3 worker processes', () => {
  const INVITES = 40;
  const SEND_MS = 150;
  const processes: WorkerProcess[] = [];
  afterAll(async () => {
    for (const worker of processes) worker.child.kill('SIGTERM');
    await Promise.all(processes.map((worker) => worker.exited()));
  });

  it('is never exceeded, is reached, and costs no job an attempt', async () => {
    await withStack({ TENANT_LIMITS: 'email=2' }, async (stack, workspace) => {
      await stack.setFault('smtp', { mode: 'slow', latencyMs: SEND_MS });
      for (let index = 0; index < 3; index += 1) processes.push(await startWorkerProcess(stack.config));
      const ids = await invite(stack, workspace('capped'), INVITES);
      await waitFor(async () => (await sent(stack, ids)) === INVITES, { what: 'every invitation sent', timeoutMs: 30_000, intervalMs: 100 });

      // Each send holds the relay for SEND_MS and is recorded when it ends: overlapping intervals
      // are sends in flight together.
      const keys = new Set(ids.map((invitationId) => sendInviteEmail.jobId({ invitationId })));
      const records = ((await stack.inspect('smtp')) as unknown as SmtpRecord[]).filter((record) =>
        [...keys].some((key) => record.key.includes(key)),
      );
      expect(records).toHaveLength(INVITES);
      expect(records.every((record) => record.deliveries === 1)).toBe(true);
      const ends = records.map((record) => Date.parse(record.lastAt)).sort((x, y) => x - y);
      const inFlight = ends.map((end) => ends.filter((other) => other > end - SEND_MS && other <= end).length);
      // Timestamps are to the millisecond, so two sends that start a hair apart may look like three.
      expect(Math.max(...inFlight)).toBeLessThanOrEqual(2);
      expect(Math.max(...inFlight)).toBe(2);
      // Uncapped, 3 processes × 20 sends at once would have taken these 40 in about two rounds.
      expect(spanOf(ends)).toBeGreaterThanOrEqual(((INVITES / 2) - 1) * SEND_MS * 0.9);

      const jobs = await Promise.all([...keys].map((id) => stack.queues.email.getJob(id)));
      expect(jobs.every((job) => job?.attemptsMade === 1)).toBe(true);
      expect(jobs.some((job) => (job?.attemptsStarted ?? 0) > 1)).toBe(true);
    });
  }, 90_000);
});

describe('a per-tenant rate of 10 a second over 3 worker processes', () => {
  const INVITES = 30;
  const processes: WorkerProcess[] = [];
  afterAll(async () => {
    for (const worker of processes) worker.child.kill('SIGTERM');
    await Promise.all(processes.map((worker) => worker.exited()));
  });

  it("spaces one tenant's job starts a tenth of a second apart, and does not slow another tenant", async () => {
    await withStack({ TENANT_LIMITS: 'email=0/10' }, async (stack, workspace) => {
      for (let index = 0; index < 3; index += 1) processes.push(await startWorkerProcess(stack.config));
      const limited = await invite(stack, workspace('limited'), INVITES);
      const other = await invite(stack, workspace('other'), 5);
      await waitFor(async () => (await sent(stack, other)) === 5, { what: "the other tenant's invitations", timeoutMs: 5_000, intervalMs: 50 });
      expect(await sent(stack, limited)).toBeLessThan(INVITES);
      await waitFor(async () => (await sent(stack, limited)) === INVITES, { what: 'every invitation sent', timeoutMs: 30_000, intervalMs: 100 });

      // Admissions are a tenth of a second apart; a send's record follows its admission after a
      // varying while (a new SMTP connection takes longer than a reused one), so only the span is
      // exact enough to assert: 30 at 10 a second cannot all be done in under 2.9 s.
      const rows = await stack.db.sentEmail.findMany({ where: { invitationId: { in: limited } }, select: { sentAt: true } });
      const times = rows.map((row) => row.sentAt.getTime()).sort((x, y) => x - y);
      expect(spanOf(times)).toBeGreaterThanOrEqual(2_000);
      const jobs = await Promise.all(limited.map((invitationId) => stack.queues.email.getJob(sendInviteEmail.jobId({ invitationId }))));
      expect(jobs.every((job) => job?.attemptsMade === 1)).toBe(true);
    });
  }, 90_000);
});
