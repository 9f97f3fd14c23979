// What a job that did nothing on purpose leaves behind. A skipped job records no effect row, so
// once BullMQ trims it the reconciler could not tell it from a lost one and would run it again for
// its whole lookback; this row says it is done (docs/failure-model.md#lost-jobs-the-reconciler).
import { execute, sql, type Queryable } from '@/lib/sql';

export interface SkippedJob {
  queue: string;
  jobName: string;
  /** The contract's id for the payload: the outbox row's job_id, which the reconciler matches. */
  jobId: string;
  /** The handler's fixed reason ('address already verified'): stored, so never personal data. */
  reason: string;
}

/**
 * One INSERT, and only for a skip: applied and already-done jobs send nothing more. A job that
 * runs again (a redelivery, a replay) keeps its first row.
 */
export async function recordSkip(db: Queryable, job: SkippedJob): Promise<void> {
  await execute(db, sql`
    INSERT INTO job_outcomes (job_id, queue, job_name, outcome, reason)
    VALUES (${job.jobId}, ${job.queue}, ${job.jobName}, 'skipped', ${job.reason})
    ON CONFLICT (job_id) DO NOTHING`);
}
