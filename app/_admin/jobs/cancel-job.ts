// Cancelling one job from the admin (docs/failure-model.md#cancelling-a-job). A waiting or delayed
// job is removed here and its dead letter, of kind 'cancelled', written here. An active job runs in
// some worker process, so every worker process is asked over pub/sub (lib/cancel-requests.ts); the
// one running it aborts the attempt, the job fails for good, and that worker writes the dead letter.
// Either way the decision goes into dead_letter_actions, and re-running it is replaying that letter.
import 'server-only';
import type { Job } from 'bullmq';
import type { Db } from '@/lib/db';
import { Prisma } from '@/lib/generated/prisma/client';
import { cancellationChannel, cancelledMessage, encodeCancelRequest, isCancelledFailure } from '@/lib/cancel-requests';
import { sleep } from '@/lib/deadline';
import { fingerprintOfDeadLetter } from '@/lib/failure-fingerprint';
import { metrics } from '@/lib/metrics';
import type { QueueName, QueueSet } from '@/lib/queues';
import type { Valkey } from '@/lib/valkey';

export interface CancelJobDeps {
  db: Db;
  queues: QueueSet;
  /** Where the cancel request for an active job is published. */
  valkey: Valkey;
  /** QUEUE_PREFIX: names the cancellation channel the workers listen on. */
  queuePrefix: string;
}

export type CancelOutcome =
  | { status: 'cancelled'; was: 'waiting' | 'delayed' | 'active'; deadLetterId: bigint }
  /** Asked, but the active attempt had not stopped when the wait ran out; it still may. */
  | { status: 'cancelling' }
  | { status: 'not-found' }
  | { status: 'finished'; state: 'completed' | 'failed' };

/**
 * How long the answer waits for an active job to stop: an aborted provider call ends at once, so a
 * few seconds covers a busy worker; a handler deaf to its signal must not hold the request longer.
 */
export const ACTIVE_WAIT_MS = 5_000;
const POLL_MS = 50;

export async function cancelJob(
  deps: CancelJobDeps,
  { queue, jobId, reason, actor }: { queue: QueueName; jobId: string; reason: string; actor: string },
  { waitMs = ACTIVE_WAIT_MS }: { waitMs?: number } = {},
): Promise<CancelOutcome> {
  const deadline = Date.now() + waitMs;
  let asked = false;
  // States change under us (a waiting job starts, an active one fails and is retried), so each
  // round looks again and takes the path its current state calls for.
  for (;;) {
    const job = await deps.queues[queue].getJob(jobId);
    const state = job ? await job.getState() : 'unknown';
    if (!job || state === 'unknown') return { status: 'not-found' };
    if (state === 'completed') return { status: 'finished', state };
    if (state === 'failed') {
      const letter = asked ? await cancelledLetter(deps.db, job) : undefined;
      if (letter) return audited(deps.db, { queue, reason, actor }, { status: 'cancelled', was: 'active', deadLetterId: letter.id });
      // Failed for another reason, or already cancelled before this request.
      if (!asked || !isCancelledFailure(job.failedReason)) return { status: 'finished', state };
    } else if (state === 'active') {
      if (!asked) {
        await deps.valkey.publish(cancellationChannel(deps.queuePrefix), encodeCancelRequest({ queue, jobId, reason }));
        asked = true;
      }
    } else {
      const removed = await removeUnstarted(deps, queue, job, state, { reason, actor });
      if (removed) return removed;
    }
    if (Date.now() >= deadline) return audited(deps.db, { queue, reason, actor }, { status: 'cancelling' });
    await sleep(POLL_MS);
  }
}

/**
 * Removes a job no worker holds and writes its dead letter and the audit row together; undefined if
 * a worker took the job first. Should the write fail after the removal, the job is not lost: with
 * no dead letter to stop it, the reconciler puts it back.
 */
async function removeUnstarted(
  deps: CancelJobDeps,
  queue: QueueName,
  job: Job,
  state: string,
  { reason, actor }: { reason: string; actor: string },
): Promise<CancelOutcome | undefined> {
  // Read before the removal takes the logs with it: earlier attempts' errors, if it was retrying.
  const { logs } = await deps.queues[queue].getJobLogs(job.id as string);
  const now = new Date();
  const attemptErrors = logs.flatMap(attemptError);
  const lastError = cancelledMessage(reason);
  // The dead letter is written first and the job removed before it commits: a removal BullMQ
  // refuses rolls the letter back, and a commit that fails after the removal leaves the job owed
  // by its outbox row, which the reconciler puts back. Either way nothing is lost.
  let letter: { id: bigint };
  try {
    letter = await deps.db.$transaction(async (tx) => {
      const row = await tx.deadLetter.create({
        data: {
          queue,
          jobName: job.name,
          jobId: job.id as string,
          payload: (job.data ?? {}) as Prisma.InputJsonObject,
          options: (job.opts ?? {}) as Prisma.InputJsonObject,
          attemptsMade: job.attemptsMade,
          attemptErrors: attemptErrors as Prisma.InputJsonArray,
          lastError,
          kind: 'cancelled',
          fingerprint: fingerprintOfDeadLetter({ queue, lastError, stackTrace: null }).fingerprint,
          firstFailedAt: attemptErrors[0] ? new Date(attemptErrors[0].at) : now,
          failedAt: now,
        },
        select: { id: true },
      });
      await tx.deadLetterAction.create({ data: auditRow({ queue, reason, actor }, [row.id]) });
      try {
        await job.remove();
      } catch (error) {
        // BullMQ refuses to remove a job whose lock a worker holds: it has just become active.
        if (error instanceof Error && /locked/.test(error.message)) throw new BecameActive();
        throw error;
      }
      return row;
    });
  } catch (error) {
    if (error instanceof BecameActive) return undefined;
    throw error;
  }
  metrics().jobsCancelled.inc({ queue, reason: 'operator' });
  return { status: 'cancelled', was: state === 'delayed' ? 'delayed' : 'waiting', deadLetterId: letter.id };
}

/** The cancelled dead letter the worker wrote for this failure, once it has. */
function cancelledLetter(db: Db, job: Job) {
  if (!job.finishedOn) return undefined;
  return db.deadLetter.findFirst({
    where: { jobId: job.id as string, failedAt: new Date(job.finishedOn), kind: 'cancelled' },
    select: { id: true },
  });
}

/** One line of the job's log, in the dead-letter recorder's {attempt, error, at} shape. */
function attemptError(line: string): Array<{ attempt: number; error: string; at: string }> {
  try {
    const { attempt, error, at } = JSON.parse(line) as Record<string, unknown>;
    return typeof attempt === 'number' && typeof error === 'string' && typeof at === 'string' ? [{ attempt, error, at }] : [];
  } catch {
    return [];
  }
}

async function audited(
  db: Db,
  { queue, reason, actor }: { queue: QueueName; reason: string; actor: string },
  outcome: CancelOutcome,
): Promise<CancelOutcome> {
  await db.deadLetterAction.create({
    data: auditRow({ queue, reason, actor }, outcome.status === 'cancelled' ? [outcome.deadLetterId] : []),
  });
  return outcome;
}

function auditRow({ queue, reason, actor }: { queue: QueueName; reason: string; actor: string }, ids: bigint[]) {
  return { action: 'cancel', actor, queue, deadLetterIds: ids.map(String) as Prisma.InputJsonArray, count: ids.length, note: reason };
}

/** Rolls the cancelled letter back: the job was taken by a worker between the read and the removal. */
class BecameActive extends Error {
  override name = 'BecameActive';
}
