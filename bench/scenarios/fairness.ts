// Issue #8, scenario 4: fairness between workspaces. Workspace A invites 5,000 members; right after,
// someone signs up in workspace B and B invites one member. How long B's welcome email and B's
// invitation take (job.finishedOn − job.timestamp), and how many of A's invitations were sent by
// then, with and without the per-workspace clock (lib/tenant-pacer.ts):
//
//   with      the real producers: inviteMembers (invitations, outbox rows, jobs paced on the
//             workspace's clock) and createSignup.
//   without   the invitations saved and their jobs added the naive way: the same job names, ids
//             and contract options (priority 3, attempts, retention) in batches of 500, but with
//             no delay and no clock, so A's whole batch is runnable at once. The signup is the same
//             createSignup: its welcome email keeps priority 2 in both.
//
// Both run a real email worker at production concurrency (20) and queue limiter (80/s) against the
// mock SMTP server (100/s), each on a fresh stack. Then the same with the SMTP server slowed to
// 250 ms a message (the queue at a quarter of its rate, which the clock assumes it never is) and
// B arriving 10 s after A: the clock alone, and the clock with the worker's per-tenant limits
// (lib/tenant-limits.ts). Without slowing, the worker's limits are off in both runs, so the first
// table measures the clock alone.
import { randomUUID } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import { createSignup } from '@/app/_signup/create-signup';
import { inviteMembers } from '@/app/_workspaces/invite-members';
import { createWorkerConnection } from '@/lib/valkey';
import { sendInviteEmail, sendWelcomeEmail } from '@/workers/jobs/job-contracts';
import { QUEUE_LIMITERS } from '@/lib/queues';
import { QUEUE_RUNTIME, startWorkers } from '@/workers/runtime/start-workers';
import { startBenchStack, type BenchStack } from '@/bench/harness/bench-stack';
import { patientQueues } from '@/bench/harness/patient-queues';
import { markdownTable, type Scenario } from '@/bench/harness/scenario';
import { quietLog, uniqueSignup, waitFor } from '@/tests/helpers/test-stack';
import { FAIR_WITHIN_MS, fairnessCharts } from '@/bench/scenarios/fairness-charts';

const SIZES = {
  // Without the clock B's invitation waits for all of A's: 5,000 at 80/s is about 62 s.
  full: { backlog: 5_000, inviteTimeoutMs: 90_000 },
  quick: { backlog: 200, inviteTimeoutMs: 15_000 },
};
const WELCOME_TIMEOUT_MS = 30_000;
/** A worker's 5 SMTP connections at 250 ms a message make 20 a second, a quarter of the queue's 80. */
const SLOW_SEND_MS = 250;
/** The SMTP transport's pool (workers/providers/smtp-mailer.ts): sends at once per worker process. */
const SMTP_CONNECTIONS = 5;
/** Long enough for the clock to have released several hundred of A's jobs more than are sent. */
const SLOWED_ARRIVAL_MS = { full: 10_000, quick: 3_000 };
const SLOWED_TIMEOUT_MS = 90_000;
/** The invite producer's own dispatch batch (invite-members.ts), for the naive adds too. */
const ADD_BATCH = 500;

type Mode = 'with' | 'without';
type SlowedMode = 'clock only' | 'clock and worker limits';

interface SlowedMeasured {
  mode: SlowedMode;
  invitation: Finished;
}

interface Finished {
  /** finishedOn − timestamp, ms; null when it had not completed within the timeout. */
  latencyMs: number | null;
  /** A's invitations sent by the moment it finished (or by the timeout). */
  aSent: number;
}

interface Measured {
  mode: Mode;
  /** How long producing A's invitations took (save and dispatch). */
  aQueuedInMs: number;
  welcome: Finished;
  invitation: Finished;
}

export const scenario: Scenario = {
  id: 'fairness',
  title: 'Fairness between workspaces',
  async run({ quick, progress }) {
    const size = quick ? SIZES.quick : SIZES.full;
    const results: Measured[] = [];
    for (const mode of ['with', 'without'] as const) {
      results.push(await measure(mode, size, (line) => progress(`${mode} the tenant clock: ${line}`)));
    }
    const slowed: SlowedMeasured[] = [];
    for (const mode of ['clock only', 'clock and worker limits'] as const) {
      const arrivalMs = quick ? SLOWED_ARRIVAL_MS.quick : SLOWED_ARRIVAL_MS.full;
      slowed.push(await measureSlowed(mode, size, arrivalMs, (line) => progress(`slowed SMTP, ${mode}: ${line}`)));
    }
    return report(results, slowed, size, quick);
  },
};

async function measure(mode: Mode, size: (typeof SIZES)['full'], progress: (line: string) => void): Promise<Measured> {
  const stack = await startBenchStack({ env: { WORKER_QUEUES: 'email', TENANT_LIMITS: 'email=0' } });
  try {
    const email = startEmailWorker(stack);

    const a = workspaceSlug('a');
    const b = workspaceSlug('b');
    const started = Date.now();
    await invite(stack, email, mode, a, size.backlog);
    const aQueuedInMs = Date.now() - started;
    progress(`A's ${size.backlog} invitations queued in ${(aQueuedInMs / 1_000).toFixed(1)} s; B signs up and invites one`);

    const [userId, [invitationId]] = await Promise.all([signUp(stack, b), invite(stack, email, mode, b, 1)]);
    const [welcome, invitation] = await Promise.all([
      finished(stack, email, a, sendWelcomeEmail.jobId({ userId }), WELCOME_TIMEOUT_MS),
      finished(stack, email, a, sendInviteEmail.jobId({ invitationId: invitationId as string }), size.inviteTimeoutMs),
    ]);
    progress(`B's welcome email ${seconds(welcome)}, B's invitation ${seconds(invitation)}`);
    return { mode, aQueuedInMs, welcome, invitation };
  } finally {
    await stack.close();
  }
}

/**
 * A's invitations through the real producer, B's one invitation `arrivalMs` later, with every send
 * taking SLOW_SEND_MS; with or without the worker's per-tenant limits (their default for email).
 */
async function measureSlowed(
  mode: SlowedMode,
  size: (typeof SIZES)['full'],
  arrivalMs: number,
  progress: (line: string) => void,
): Promise<SlowedMeasured> {
  const env = { WORKER_QUEUES: 'email', ...(mode === 'clock only' ? { TENANT_LIMITS: 'email=0' } : {}) };
  const stack = await startBenchStack({ env });
  try {
    await stack.setFault('smtp', { mode: 'slow', latencyMs: SLOW_SEND_MS });
    const email = startEmailWorker(stack);

    const a = workspaceSlug('a');
    await invite(stack, email, 'with', a, size.backlog);
    await new Promise((resolve) => setTimeout(resolve, arrivalMs));
    const [invitationId] = await invite(stack, email, 'with', workspaceSlug('b'), 1);
    const invitation = await finished(stack, email, a, sendInviteEmail.jobId({ invitationId: invitationId as string }), SLOWED_TIMEOUT_MS);
    progress(`B's invitation ${seconds(invitation)}, ${invitation.aSent} of A's sent by then`);
    return { mode, invitation };
  } finally {
    await stack.close();
  }
}

/** One email worker at production settings, closed with the stack; returns the email queue to read. */
function startEmailWorker(stack: BenchStack): Queue {
  const connection = createWorkerConnection(stack.valkeyUrl);
  stack.onClose(() => connection.disconnect());
  const workers = startWorkers({ config: stack.config, pool: stack.pool, connection, log: quietLog });
  stack.onClose(() => workers.close(5_000));
  return patientQueues(stack).email;
}

function workspaceSlug(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

/**
 * Invites `count` new addresses into `workspace` and returns the invitations' ids in list order:
 * through the real producer with the clock, or the naive way onto `naiveQueue` without it.
 */
async function invite(stack: BenchStack, naiveQueue: Queue, mode: Mode, workspace: string, count: number): Promise<string[]> {
  const emails = Array.from({ length: count }, (_, index) => `member-${index}@${workspace}.test`);
  if (mode === 'with') {
    const outcome = await inviteMembers({ workspace, emails }, { pool: stack.pool, queues: stack.queues });
    // Nothing relays the outbox here: an undispatched row would never be sent.
    if (outcome.status !== 'invited' || !outcome.dispatched) throw new Error(`${workspace}'s invitations were not dispatched`);
    const rows = await stack.db.invitation.findMany({ where: { workspace }, select: { id: true, email: true } });
    const idOf = new Map(rows.map((row) => [row.email, row.id]));
    return emails.map((email) => idOf.get(email) as string);
  }
  const ids = emails.map(() => randomUUID());
  await stack.db.invitation.createMany({ data: emails.map((email, index) => ({ id: ids[index] as string, workspace, email })) });
  for (let start = 0; start < ids.length; start += ADD_BATCH) {
    await naiveQueue.addBulk(
      ids.slice(start, start + ADD_BATCH).map((invitationId) => ({
        name: sendInviteEmail.name,
        data: { invitationId },
        opts: { ...sendInviteEmail.options, jobId: sendInviteEmail.jobId({ invitationId }) },
      })),
    );
  }
  return ids;
}

async function signUp(stack: BenchStack, workspace: string): Promise<string> {
  const outcome = await createSignup(uniqueSignup({ workspace }), { pool: stack.pool, queues: stack.queues, followUpDelayMs: stack.config.followUpDelayMs });
  if (outcome.status !== 'created' || !outcome.dispatched) throw new Error(`the signup in ${workspace} was not dispatched`);
  return outcome.userId;
}

/** Waits for the job to complete and counts A's invitations sent by then. */
async function finished(stack: BenchStack, email: Queue, a: string, jobId: string, timeoutMs: number): Promise<Finished> {
  let job: Job | undefined;
  try {
    job = await waitFor(
      async () => {
        const candidate = await email.getJob(jobId);
        return candidate?.finishedOn && (await candidate.getState()) === 'completed' ? candidate : undefined;
      },
      { what: `${jobId} completed`, timeoutMs, intervalMs: 50 },
    );
  } catch {
    job = undefined;
  }
  const by = new Date(job?.finishedOn ?? Date.now());
  const aSent = await stack.db.sentEmail.count({ where: { invitation: { workspace: a }, sentAt: { lte: by } } });
  return { latencyMs: job?.finishedOn ? job.finishedOn - job.timestamp : null, aSent };
}

function seconds(result: Finished, timeoutMs?: number): string {
  if (result.latencyMs === null) return timeoutMs ? `not sent within ${timeoutMs / 1_000} s` : 'not sent in time';
  return `${(result.latencyMs / 1_000).toFixed(2)} s`;
}

function report(results: Measured[], slowed: SlowedMeasured[], size: (typeof SIZES)['full'], quick: boolean) {
  const [paced, naive] = results as [Measured, Measured];
  const [clockOnly, withLimits] = slowed as [SlowedMeasured, SlowedMeasured];
  const within = (result: Finished) => result.latencyMs !== null && result.latencyMs <= FAIR_WITHIN_MS;
  const judge = (met: boolean) => (quick ? undefined : met);
  const welcomeOf = (result: Measured) => seconds(result.welcome, WELCOME_TIMEOUT_MS);
  const invitationOf = (result: Measured) => seconds(result.invitation, size.inviteTimeoutMs);

  const table = markdownTable(
    [
      'A backlog paced by',
      "B's welcome email",
      "A's invitations sent by then",
      "B's invitation",
      "A's invitations sent by then",
      `A's ${size.backlog} queued in`,
    ],
    results.map((result) => [
      result.mode === 'with' ? 'the tenant clock (fairness on)' : 'nothing (fairness off)',
      welcomeOf(result),
      `${result.welcome.aSent} of ${size.backlog}`,
      invitationOf(result),
      `${result.invitation.aSent} of ${size.backlog}`,
      `${(result.aQueuedInMs / 1_000).toFixed(1)} s`,
    ]),
  );
  const { concurrency } = QUEUE_RUNTIME.email;
  const { max, duration } = QUEUE_LIMITERS.email;
  const markdown = [
    table,
    `Workspace A invited ${size.backlog} members; as soon as that call returned, one person signed up in workspace B and B invited one member, both at once. Latency is BullMQ's \`finishedOn − timestamp\` of each job; "sent by then" counts A's \`sent_emails\` rows written by the moment B's job finished. One email worker at production concurrency (${concurrency}) and queue limiter (${max} per ${duration} ms) against the mock SMTP server, each configuration on a fresh stack.`,
    `With fairness: the real producers, \`inviteMembers\` (invitations and outbox rows in one transaction, then jobs paced on each workspace's clock, one slot per ${duration / max} ms) and \`createSignup\`. Without: the invitations saved with one \`createMany\` and their jobs added with \`addBulk\` in batches of ${ADD_BATCH}, with the same names, ids and contract options (priority 3) but no delay and no clock; the signup is the same \`createSignup\`.`,
    `The welcome email has priority 2 and A's invitations priority 3, so priorities alone keep it in front of A's backlog with or without the clock. The invitation shares A's priority: without the clock it is first in, first out behind all of A's, which is what the tenant clock removes.`,
    `### When the email queue runs at a quarter of its rate`,
    markdownTable(
      ['A backlog held back by', "B's invitation", "A's invitations sent by then"],
      slowed.map((result) => [
        result.mode === 'clock only' ? "the tenant clock alone (TENANT_LIMITS=email=0)" : 'the clock and the worker\'s per-tenant limits (email: 8 at once)',
        seconds(result.invitation, SLOWED_TIMEOUT_MS),
        `${result.invitation.aSent} of ${size.backlog}`,
      ]),
    ),
    `Every SMTP send takes ${SLOW_SEND_MS} ms, so the worker's ${SMTP_CONNECTIONS} SMTP connections make ${SMTP_CONNECTIONS * (1_000 / SLOW_SEND_MS)} sends a second, a quarter of the ${max} a second the clock releases A's jobs at. B invites one member ${(quick ? SLOWED_ARRIVAL_MS.quick : SLOWED_ARRIVAL_MS.full) / 1_000} s after A's invitations were queued. With the clock alone, B's invitation waits behind every job of A's already released and not yet sent; with the worker's limits, A holds 8 places and the rest of its released jobs are held back in A's own line, so B's job runs as soon as it is fetched.`,
  ].join('\n\n');

  const data = { backlog: size.backlog, timeoutsMs: { welcome: WELCOME_TIMEOUT_MS, invitation: size.inviteTimeoutMs }, results, slowed };
  return {
    markdown,
    targets: [
      {
        target: `B's welcome email ≤ ${FAIR_WITHIN_MS / 1_000} s behind A's backlog, with fairness`,
        measured: `${welcomeOf(paced)} (${paced.welcome.aSent} of A's sent by then); without: ${welcomeOf(naive)}`,
        met: judge(within(paced.welcome)),
      },
      {
        target: `B's invitation ≤ ${FAIR_WITHIN_MS / 1_000} s behind A's backlog, with fairness (README's claim)`,
        measured: `${invitationOf(paced)} (${paced.invitation.aSent} of A's sent by then); without: ${invitationOf(naive)} (${naive.invitation.aSent} of A's)`,
        met: judge(within(paced.invitation)),
      },
      {
        target: `B's invitation ≤ ${FAIR_WITHIN_MS / 1_000} s with the email queue at a quarter of its rate, with the worker's per-tenant limits`,
        measured: `${seconds(withLimits.invitation, SLOWED_TIMEOUT_MS)}; with the clock alone: ${seconds(clockOnly.invitation, SLOWED_TIMEOUT_MS)}`,
        met: judge(within(withLimits.invitation)),
      },
    ],
    charts: fairnessCharts(data),
    data,
  };
}
