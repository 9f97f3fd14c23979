// Listens to a Worker's 'failed' events. Every failed attempt is appended to the job's log (one
// JSON line: attempt, error, time), which BullMQ keeps with the job and bull-board shows. When a
// failure is final (attempts exhausted, a permanent refusal, or a job that stalled too often) the
// job is written to the dead_letters table with its whole failure context, as kind 'cancelled' when
// an operator cancelled it (docs/failure-model.md#cancelling-a-job), else 'failed'.
//
// If this process dies between BullMQ failing the job and the insert, the job stays in BullMQ's
// failed set and the reconciler writes the missing dead letter on its next pass.
import type { Job, Queue, Worker } from 'bullmq';
import { isCancelledFailure } from '@/lib/cancel-requests';
import type { Logger } from '@/lib/log';
import { fingerprintOfDeadLetter } from '@/lib/failure-fingerprint';
import { metrics } from '@/lib/metrics';
import { execute, sql, type Queryable } from '@/lib/sql';

export interface AttemptError {
  attempt: number;
  error: string;
  at: string;
}

export function recordFailuresOf(worker: Worker, queue: Queue, { pool, log }: { pool: Queryable; log: Logger }): void {
  worker.on('failed', (job, error) => {
    if (!job) return;
    void recordFailure(job, error, { pool, queue }).catch((cause: unknown) =>
      log.error('could not record a failed attempt', {
        queue: queue.name,
        id: job.id,
        error: cause instanceof Error ? cause.message : String(cause),
      }),
    );
  });
}

async function recordFailure(job: Job, error: Error, { pool, queue }: { pool: Queryable; queue: Queue }): Promise<void> {
  // BullMQ's own time for a final failure, so the dead letter's times agree with the job's.
  const at = new Date(job.finishedOn ?? Date.now()).toISOString();
  const entry: AttemptError = { attempt: job.attemptsMade, error: error.message, at };
  await job.log(JSON.stringify(entry));
  // finishedOn is set only when BullMQ failed the job for good; a retry leaves it unset.
  if (!job.finishedOn) return;
  await writeDeadLetter(pool, queue, job);
}

/** Idempotent: one row per (job id, final failure time), however often it is called. */
export async function writeDeadLetter(pool: Queryable, queue: Queue, job: Job): Promise<void> {
  const attempts = await attemptErrors(queue, job.id as string);
  const failedAt = new Date(job.finishedOn ?? Date.now());
  const lastError = job.failedReason || attempts.at(-1)?.error || 'unknown error';
  const firstFailedAt = attempts[0] ? new Date(attempts[0].at) : failedAt;
  // From the job alone, so that the reconciler, writing a row this process did not, agrees.
  const kind = isCancelledFailure(job.failedReason) ? 'cancelled' : 'failed';
  const stackTrace = job.stacktrace?.at(-1) ?? null;
  const { fingerprint } = fingerprintOfDeadLetter({ queue: queue.name, lastError, stackTrace });
  const count = await execute(pool, sql`
    INSERT INTO dead_letters (queue, job_name, job_id, payload, options, attempts_made, attempt_errors, last_error,
                              stack_trace, kind, fingerprint, first_failed_at, failed_at)
    VALUES (${queue.name}, ${job.name}, ${job.id as string}, ${JSON.stringify(job.data ?? {})}::jsonb,
            ${JSON.stringify(job.opts ?? {})}::jsonb, ${job.attemptsMade}, ${JSON.stringify(attempts)}::jsonb, ${lastError},
            ${stackTrace}, ${kind}, ${fingerprint}, ${firstFailedAt}, ${failedAt})
    ON CONFLICT (job_id, failed_at) DO NOTHING`);
  // Counted when inserted, so a repeated call (the reconciler after the recorder) counts once. A
  // cancelled job is an operator's decision, not a failure to alert on: signup_jobs_cancelled_total.
  if (count > 0 && kind === 'failed') metrics().deadLetters.inc({ queue: queue.name, job: job.name }, count);
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
