// The jobs not yet finished, per queue, for the admin's cancel page: the newest page of active,
// waiting and delayed jobs, each by name, id, state and age, never its payload. Read through
// BullMQ's getters only, like app/_admin/queue-health/queue-health.ts; never a Valkey key by name.
import 'server-only';
import type { Job } from 'bullmq';
import { withDeadline } from '@/lib/deadline';
import { QUEUE_NAMES, type QueueName, type QueueSet } from '@/lib/queues';
import { isValkeyUnreachable } from '@/app/_admin/queue-health/queue-health';

export type PendingState = 'active' | 'waiting' | 'delayed';

export interface PendingJob {
  id: string;
  name: string;
  state: PendingState;
  /** When it was added, ms since the epoch. */
  addedAt: number;
}

export interface PendingQueue {
  queue: QueueName;
  /** How many jobs are in each state, all of them, not just the page's. */
  counts: Record<PendingState, number>;
  /** Newest first, at most a page. */
  jobs: PendingJob[];
}

export const PENDING_PAGE = 50;
/** The page answers even if Valkey hangs rather than refuses. */
const VALKEY_DEADLINE_MS = 1_500;

/** Every queue's pending jobs, or undefined when Valkey cannot be reached in time. */
export async function pendingJobs(queues: QueueSet, { perQueue = PENDING_PAGE }: { perQueue?: number } = {}): Promise<PendingQueue[] | undefined> {
  const late = new Error(`no answer within ${VALKEY_DEADLINE_MS} ms`);
  try {
    return await withDeadline(Promise.all(QUEUE_NAMES.map((queue) => readQueue(queues, queue, perQueue))), VALKEY_DEADLINE_MS, () => late);
  } catch (error) {
    if (error === late || isValkeyUnreachable(error)) return undefined;
    throw error;
  }
}

async function readQueue(queues: QueueSet, queue: QueueName, perQueue: number): Promise<PendingQueue> {
  const target = queues[queue];
  // Prioritized jobs are waiting too, in their own set.
  const [counts, active, waiting, prioritized, delayed] = await Promise.all([
    target.getJobCounts('active', 'waiting', 'prioritized', 'delayed'),
    target.getJobs(['active'], 0, perQueue - 1, false),
    target.getJobs(['waiting'], 0, perQueue - 1, false),
    target.getJobs(['prioritized'], 0, perQueue - 1, false),
    target.getJobs(['delayed'], 0, perQueue - 1, false),
  ]);
  const jobs = [
    ...active.map((job) => pending(job, 'active')),
    ...[...waiting, ...prioritized].map((job) => pending(job, 'waiting')),
    ...delayed.map((job) => pending(job, 'delayed')),
  ]
    .filter((job): job is PendingJob => job !== undefined)
    .sort((a, b) => b.addedAt - a.addedAt)
    .slice(0, perQueue);
  return {
    queue,
    counts: {
      active: counts.active ?? 0,
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      delayed: counts.delayed ?? 0,
    },
    jobs,
  };
}

/** A job removed between the list and its hash comes back empty; it is no longer pending. */
function pending(job: Job | undefined, state: PendingState): PendingJob | undefined {
  if (!job?.id) return undefined;
  return { id: job.id, name: job.name, state, addedAt: job.timestamp };
}
