// The state of one signup's four jobs, for its status page. The database says what is finished
// (an effect row exists) or not yet dispatched (a pending outbox row); BullMQ says the rest
// (queued, running, retrying, failed), looked up by each job's deterministic id. When Valkey is
// unreachable the page still answers, from the database alone.
import type { Job } from 'bullmq';
import type { Db } from '@/lib/db';
import type { QueueSet } from '@/lib/queues';
import type { JobContract } from '@/workers/define-job';
import { generateAvatar, sendWelcomeEmail, SIGNUP_JOBS, syncCrmContact, trackSignupEvent } from '@/workers/jobs';
import { signupEventId } from '@/workers/analytics/track-signup-event.contract';

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
}

export interface SignupStatus {
  name: string;
  workspace: string | null;
  emailVerified: boolean;
  avatarReady: boolean;
  jobs: JobStatus[];
  /** False when Valkey could not be asked; states then come from the database alone. */
  queueReachable: boolean;
}

const LABELS: Record<string, string> = {
  [sendWelcomeEmail.name]: 'Welcome email',
  [syncCrmContact.name]: 'CRM contact',
  [generateAvatar.name]: 'Avatar',
  [trackSignupEvent.name]: 'Analytics event',
};

export async function signupStatus(
  statusToken: string,
  { db, queues }: { db: Db; queues: QueueSet },
): Promise<SignupStatus | undefined> {
  const user = await db.user.findUnique({
    where: { statusToken },
    include: {
      welcomeEmail: { select: { id: true } },
      crmContact: { select: { id: true } },
      avatar: { select: { id: true } },
      analyticsEvents: { select: { eventId: true } },
    },
  });
  if (!user) return undefined;

  const done: Record<string, boolean> = {
    [sendWelcomeEmail.name]: user.welcomeEmail !== null,
    [syncCrmContact.name]: user.crmContact !== null,
    [generateAvatar.name]: user.avatar !== null,
    [trackSignupEvent.name]: user.analyticsEvents.some((event) => event.eventId === signupEventId(user.id)),
  };
  const jobIds = SIGNUP_JOBS.map((contract) => (contract as JobContract).jobId({ userId: user.id }));
  const outbox = await db.outboxMessage.findMany({
    where: { jobId: { in: jobIds } },
    select: { jobId: true, dispatchedAt: true },
  });
  const outboxByJobId = new Map(outbox.map((row) => [row.jobId, row]));

  let queueReachable = true;
  const jobs = await Promise.all(
    SIGNUP_JOBS.map(async (contract, index): Promise<JobStatus> => {
      const jobId = jobIds[index] as string;
      const base = { name: contract.name, label: LABELS[contract.name] ?? contract.name };
      if (done[contract.name]) return { ...base, state: 'done' };
      const row = outboxByJobId.get(jobId);
      if (!row) return { ...base, state: 'not-queued' };
      if (!row.dispatchedAt) return { ...base, state: 'queued' };
      try {
        const job = await queues[contract.queue].getJob(jobId);
        return job ? { ...base, ...(await stateOf(job)) } : { ...base, state: 'queued' };
      } catch {
        queueReachable = false;
        return { ...base, state: 'queued' };
      }
    }),
  );

  return {
    name: user.name,
    workspace: user.workspace,
    emailVerified: user.emailVerifiedAt !== null,
    avatarReady: user.avatar !== null,
    jobs,
    queueReachable,
  };
}

async function stateOf(job: Job): Promise<Omit<JobStatus, 'name' | 'label'>> {
  const attempts = job.opts.attempts ?? 1;
  const lastError = job.failedReason || undefined;
  switch (await job.getState()) {
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
