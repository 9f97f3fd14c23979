// Listens to a Worker's 'failed' events. Every failed attempt is appended to the job's log (one
// JSON line: attempt, error, time), which BullMQ keeps with the job and bull-board shows. When a
// failure is final (attempts exhausted, a permanent refusal, or a job that stalled too often) the
// job is written to the dead_letters table with its whole failure context.
//
// If this process dies between BullMQ failing the job and the insert, the job stays in BullMQ's
// failed set and the reconciler writes the missing dead letter on its next pass.
import type { Job, Queue, Worker } from 'bullmq';
import type { Db } from '@/lib/db';
import { Prisma } from '@/lib/generated/prisma/client';
import type { Logger } from '@/lib/log';
import { metrics } from '@/lib/metrics';

export interface AttemptError {
  attempt: number;
  error: string;
  at: string;
}

export function recordFailuresOf(worker: Worker, queue: Queue, { db, log }: { db: Db; log: Logger }): void {
  worker.on('failed', (job, error) => {
    if (!job) return;
    void recordFailure(job, error, { db, queue }).catch((cause: unknown) =>
      log.error('could not record a failed attempt', {
        queue: queue.name,
        id: job.id,
        error: cause instanceof Error ? cause.message : String(cause),
      }),
    );
  });
}

async function recordFailure(job: Job, error: Error, { db, queue }: { db: Db; queue: Queue }): Promise<void> {
  // BullMQ's own time for a final failure, so the dead letter's times agree with the job's.
  const at = new Date(job.finishedOn ?? Date.now()).toISOString();
  const entry: AttemptError = { attempt: job.attemptsMade, error: error.message, at };
  await job.log(JSON.stringify(entry));
  // finishedOn is set only when BullMQ failed the job for good; a retry leaves it unset.
  if (!job.finishedOn) return;
  await writeDeadLetter(db, queue, job);
}

/** Idempotent: one row per (job id, final failure time), however often it is called. */
export async function writeDeadLetter(db: Db, queue: Queue, job: Job): Promise<void> {
  const attempts = await attemptErrors(queue, job.id as string);
  const failedAt = new Date(job.finishedOn ?? Date.now());
  const lastError = job.failedReason || attempts.at(-1)?.error || 'unknown error';
  const { count } = await db.deadLetter.createMany({
    data: [
      {
        queue: queue.name,
        jobName: job.name,
        jobId: job.id as string,
        payload: job.data as Prisma.InputJsonValue,
        options: jsonSafe(job.opts),
        attemptsMade: job.attemptsMade,
        attemptErrors: attempts as unknown as Prisma.InputJsonValue,
        lastError,
        stackTrace: job.stacktrace?.at(-1) ?? null,
        firstFailedAt: attempts[0] ? new Date(attempts[0].at) : failedAt,
        failedAt,
      },
    ],
    skipDuplicates: true,
  });
  // Counted when inserted, so a repeated call (the reconciler after the recorder) counts once.
  if (count > 0) metrics().deadLetters.inc({ queue: queue.name, job: job.name }, count);
}

async function attemptErrors(queue: Queue, jobId: string): Promise<AttemptError[]> {
  const { logs } = await queue.getJobLogs(jobId);
  return logs.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as Partial<AttemptError>;
      return typeof parsed.attempt === 'number' && typeof parsed.error === 'string' && typeof parsed.at === 'string'
        ? [{ attempt: parsed.attempt, error: parsed.error, at: parsed.at }]
        : [];
    } catch {
      return [];
    }
  });
}

function jsonSafe(value: unknown): Prisma.InputJsonValue {
  return JSON.parse(JSON.stringify(value ?? {})) as Prisma.InputJsonValue;
}
