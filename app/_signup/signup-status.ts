// The state of one signup's four jobs and its delayed follow-up email, for its status page. The
// database says what is finished (an effect row exists) or not yet dispatched (a pending outbox
// row); BullMQ says the rest (queued, running, retrying, failed), looked up by each job's
// deterministic id. When Valkey is unreachable the page still answers, from the database alone.
// The JSON is also the poll's answer (GET /api/welcome/<token>): fields are added, never renamed.
import 'server-only';
import type { Job } from 'bullmq';
import { tokenHash } from '@/lib/access-tokens';
import { appliedEffects } from '@/lib/job-effects';
import type { QueueSet } from '@/lib/queues';
import { query, sql, type Pool } from '@/lib/sql';
import {
  generateAvatar,
  sendGettingStartedEmail,
  sendWelcomeEmail,
  SIGNUP_JOBS,
  syncCrmContact,
  trackSignupEvent,
  type JobContract,
} from '@/workers/jobs/job-contracts';

export type JobState = 'queued' | 'running' | 'retrying' | 'done' | 'dead-lettered' | 'not-queued';

export interface JobStatus {
  name: string;
  label: string;
  state: JobState;
  /** The attempt running or coming next, 1-based, and how many are allowed. */
  attempt?: number;
  attempts?: number;
  /** Why the last attempt failed, when it did: no personal data, provider messages only. */
  lastError?: string;
  /**
   * Set with 'not-queued' when the job was left out on purpose: the analytics event is the one
   * job the producer sheds under overload (its outbox row is simply not written).
   */
  notQueuedReason?: 'load-shedding';
}

/**
 * The "getting started" email, due days after the signup. 'scheduled' until it is due; then the
 * job's states; 'sent' once the email went out; 'cancelled' when the job finished without sending.
 */
export type FollowUpState = 'scheduled' | 'queued' | 'running' | 'retrying' | 'sent' | 'dead-lettered' | 'cancelled';

export interface FollowUpEmailStatus {
  name: string;
  label: string;
  state: FollowUpState;
  /** When it is due, ISO 8601. */
  scheduledFor: string | null;
  /** When it went out, ISO 8601, once sent. */
  sentAt?: string;
  attempt?: number;
  attempts?: number;
  lastError?: string;
}

export interface SignupStatus {
  name: string;
  workspace: string | null;
  emailVerified: boolean;
  avatarReady: boolean;
  jobs: JobStatus[];
  /** False when Valkey could not be asked; states then come from the database alone. */
  queueReachable: boolean;
  /** Absent for signups saved before the follow-up email existed. */
  followUpEmail?: FollowUpEmailStatus;
}

const LABELS: Record<string, string> = {
  [sendWelcomeEmail.name]: 'Welcome email',
  [syncCrmContact.name]: 'CRM contact',
  [generateAvatar.name]: 'Avatar',
  [trackSignupEvent.name]: 'Analytics event',
};

const FOLLOW_UP_LABEL = 'Getting started email';

/** Jobs whose missing outbox row means load shedding dropped them (app/_signup/analytics-shedding.ts). */
const SHEDDABLE_JOBS: ReadonlySet<string> = new Set([trackSignupEvent.name]);

/**
 * What a status link opens: the status, or word that the link has expired (the page then offers
 * to email a fresh one), or nothing (never issued, or the account is gone).
 */
export type StatusLookup = { state: 'live'; status: SignupStatus } | { state: 'expired' } | { state: 'unknown' };

export async function signupStatus(
  statusToken: string,
  { pool, queues }: { pool: Pool; queues: QueueSet },
): Promise<StatusLookup> {
  const [user] = await query<{ id: string; name: string; workspace: string | null; verified: boolean; expired: boolean }>(pool, sql`
    SELECT u.id, u.name, u.workspace, u.email_verified_at IS NOT NULL AS verified, t.expires_at <= now() AS expired
      FROM access_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = ${tokenHash(statusToken)} AND t.purpose = 'status'`);
  if (!user) return { state: 'unknown' };
  if (user.expired) return { state: 'expired' };
  return { state: 'live', status: await statusOf(user, { pool, queues }) };
}

async function statusOf(
  user: { id: string; name: string; workspace: string | null; verified: boolean },
  { pool, queues }: { pool: Pool; queues: QueueSet },
): Promise<SignupStatus> {
  const signupJobs = SIGNUP_JOBS as readonly JobContract[];
  const jobIds = signupJobs.map((contract) => contract.jobId({ userId: user.id }));
  const followUpJobId = sendGettingStartedEmail.jobId({ userId: user.id });
  // Done means the effect row exists, by each contract's declaration (lib/job-effects.ts).
  const [done, outbox, followUpSent] = await Promise.all([
    appliedEffects(pool, signupJobs, { userId: user.id }),
    query<{ jobId: string; dispatchedAt: Date | null; availableAt: Date }>(pool, sql`
      SELECT job_id AS "jobId", dispatched_at AS "dispatchedAt", available_at AS "availableAt"
        FROM outbox_messages WHERE job_id = ANY(${[...jobIds, followUpJobId]}::text[])`),
    query<{ sentAt: Date }>(pool, sql`
      SELECT sent_at AS "sentAt" FROM sent_emails WHERE job_id = ${followUpJobId} AND kind = 'getting-started'`).then(
      (rows) => rows[0],
    ),
  ]);
  const outboxByJobId = new Map(outbox.map((row) => [row.jobId, row]));

  let queueReachable = true;
  const jobs = await Promise.all(
    SIGNUP_JOBS.map(async (contract, index): Promise<JobStatus> => {
      const jobId = jobIds[index] as string;
      const base = { name: contract.name, label: LABELS[contract.name] ?? contract.name };
      if (done.get(contract.name)) return { ...base, state: 'done' };
      const row = outboxByJobId.get(jobId);
      if (!row) {
        return SHEDDABLE_JOBS.has(contract.name)
          ? { ...base, state: 'not-queued', notQueuedReason: 'load-shedding' }
          : { ...base, state: 'not-queued' };
      }
      if (!row.dispatchedAt) return { ...base, state: 'queued' };
      try {
        const job = await queues[contract.queue].getJob(jobId);
        return job ? { ...base, ...stateOf(job, await job.getState()) } : { ...base, state: 'queued' };
      } catch {
        queueReachable = false;
        return { ...base, state: 'queued' };
      }
    }),
  );

  let followUpEmail: FollowUpEmailStatus | undefined;
  const followUpRow = outboxByJobId.get(followUpJobId);
  if (followUpSent || followUpRow) {
    const base = {
      name: sendGettingStartedEmail.name,
      label: FOLLOW_UP_LABEL,
      scheduledFor: followUpRow?.availableAt.toISOString() ?? null,
    };
    if (followUpSent) {
      followUpEmail = { ...base, state: 'sent', sentAt: followUpSent.sentAt.toISOString() };
    } else {
      try {
        followUpEmail = { ...base, ...(await followUpStateOf(queues, followUpJobId, followUpRow)) };
      } catch {
        queueReachable = false;
        followUpEmail = { ...base, state: dueState(followUpRow) };
      }
    }
  }

  return {
    name: user.name,
    workspace: user.workspace,
    emailVerified: user.verified,
    avatarReady: done.get(generateAvatar.name) === true || (await avatarStoredSince(pool, user.id, jobs)),
    jobs,
    queueReachable,
    ...(followUpEmail ? { followUpEmail } : {}),
  };
}

/**
 * The effects were read before the queue. An avatar job that completed in between reads as done
 * from BullMQ although the first read found no avatar; a handler commits its effect before BullMQ
 * marks the job completed, so one more read finds it. Without it the page would stop polling
 * (every job settled) and never show the avatar.
 */
async function avatarStoredSince(pool: Pool, userId: string, jobs: JobStatus[]): Promise<boolean> {
  const avatarJob = jobs.find((job) => job.name === generateAvatar.name);
  if (avatarJob?.state !== 'done') return false;
  const [found] = await query<{ found: boolean }>(pool, sql`SELECT EXISTS (SELECT 1 FROM avatars WHERE user_id = ${userId}::uuid) AS found`);
  return found?.found === true;
}

type FollowUpRow = { dispatchedAt: Date | null; availableAt: Date } | undefined;

/**
 * From the database alone: scheduled until it is due, then waiting for a worker. Until a minute
 * before it is due the row is not even in Valkey (DISPATCH_HORIZON_MS in lib/outbox.ts).
 */
function dueState(row: FollowUpRow): 'scheduled' | 'queued' {
  return row && row.availableAt.getTime() > Date.now() ? 'scheduled' : 'queued';
}

async function followUpStateOf(
  queues: QueueSet,
  jobId: string,
  row: FollowUpRow,
): Promise<Omit<FollowUpEmailStatus, 'name' | 'label' | 'scheduledFor'>> {
  if (!row?.dispatchedAt) return { state: dueState(row) };
  const job = await queues[sendGettingStartedEmail.queue].getJob(jobId);
  if (!job) return { state: dueState(row) };
  const bullState = await job.getState();
  if (bullState === 'delayed' && job.attemptsMade === 0) return { state: 'scheduled' };
  const { state, ...detail } = stateOf(job, bullState);
  // Completed without a sent_emails row: the handler decided the email was no longer wanted.
  if (state === 'done' || state === 'not-queued') return { state: 'cancelled' };
  return { state, ...detail };
}

function stateOf(job: Job, bullState: Awaited<ReturnType<Job['getState']>>): Omit<JobStatus, 'name' | 'label'> {
  const attempts = job.opts.attempts ?? 1;
  const lastError = job.failedReason || undefined;
  switch (bullState) {
    case 'completed':
      return { state: 'done' };
    case 'failed':
      return { state: 'dead-lettered', attempt: job.attemptsMade, attempts, lastError };
    case 'active':
      return { state: job.attemptsMade > 0 ? 'retrying' : 'running', attempt: job.attemptsMade + 1, attempts, lastError };
    case 'delayed':
      if (job.attemptsMade > 0) return { state: 'retrying', attempt: job.attemptsMade + 1, attempts, lastError };
      return { state: 'queued' };
    default:
      return { state: 'queued' };
  }
}
