// The retention sweep: the maintenance queue's hourly `sweep-retention` job (workers/maintenance/maintenance-queue.ts).
// What grows with every signup, and nothing else bounds:
//
//   completed jobs   every contract adds its jobs with RETENTION (define-job.ts), so BullMQ drops a
//                    completed job once it is past RETENTION's age. A job added without it (by hand,
//                    from a console, by code older than RETENTION) would stay in Valkey for good; this
//                    removes those by the same age, so the sweep never takes a job BullMQ would keep.
//   outbox rows      a dispatched row is read by the reconciler for its lookback (a week), then by
//                    nobody. Undispatched rows are work not yet handed to Valkey: never deleted here.
//   job outcomes     a recorded skip (job-outcomes.ts) answers the reconciler for its job's row,
//                    which is never younger than it: they go after the same age.
//   accounts, links  accounts never confirmed, and links long expired (account-retention.ts).
//
// Each part works in bounded batches, so no single Lua script or SQL statement holds Valkey or the
// table for long, and loop until nothing is left. Deleting what is gone deletes nothing, so a run
// that is retried or overlaps another changes nothing. No retries: the next hourly run catches up.
import type { Logger } from '@/lib/log';
import { execute, sql, type Queryable } from '@/lib/sql';
import { QUEUE_NAMES, type QueueName, type QueueSet } from '@/lib/queues';
import { RETENTION } from '@/workers/jobs/define-job';
import {
  deleteExpiredLinks,
  EXPIRED_LINK_KEEP_MS,
  purgeUnverifiedAccounts,
  UNVERIFIED_ACCOUNT_MAX_AGE_MS,
  type AccountRetentionOptions,
} from '@/workers/maintenance/account-retention';
import { inBatches } from '@/workers/maintenance/in-batches';
import { RECONCILE_DEFAULTS } from '@/workers/maintenance/reconciler';

const DAY_MS = 24 * 60 * 60 * 1_000;

/**
 * A day past the reconciler's lookback: a row is deleted only once no reconcile pass can ask for
 * it, with a margin wide enough that a pass and a sweep running at the same moment never disagree.
 */
export const DISPATCHED_ROW_MAX_AGE_MS = RECONCILE_DEFAULTS.lookbackMs + DAY_MS;

export interface RetentionSweepOptions extends AccountRetentionOptions {
  /** Completed jobs that finished longer ago than this are removed. */
  completedJobMaxAgeMs: number;
  /** Jobs per `clean` call. */
  cleanBatchSize: number;
  /** Outbox rows dispatched longer ago than this are deleted. */
  dispatchedRowMaxAgeMs: number;
  /** Skips (job_outcomes rows) recorded longer ago than this are deleted. */
  jobOutcomeMaxAgeMs: number;
  /** Rows per DELETE statement. */
  deleteBatchSize: number;
}

export interface RetentionSweepResult {
  completedJobsRemoved: Record<QueueName, number>;
  outboxRowsDeleted: number;
  jobOutcomesDeleted: number;
  unverifiedAccountsPurged: number;
  expiredLinksDeleted: number;
}

/** RETENTION's age for completed jobs, in ms: the sweep keeps exactly what BullMQ would keep. */
export function completedJobRetentionMs(): number {
  const keep = RETENTION.removeOnComplete;
  if (typeof keep !== 'object' || !('age' in keep)) {
    throw new Error('RETENTION.removeOnComplete has no age; the retention sweep cannot tell which completed jobs are old');
  }
  return keep.age * 1_000;
}

export function retentionSweepDefaults(): RetentionSweepOptions {
  return {
    completedJobMaxAgeMs: completedJobRetentionMs(),
    // Each clean is one Lua script, and Valkey serves nothing else while it runs: a thousand jobs
    // take a few milliseconds, short enough that no producer or worker notices.
    cleanBatchSize: 1_000,
    dispatchedRowMaxAgeMs: DISPATCHED_ROW_MAX_AGE_MS,
    // A skip is recorded after its row was created, so past this age its row is out of every pass.
    jobOutcomeMaxAgeMs: DISPATCHED_ROW_MAX_AGE_MS,
    // One statement stays far inside the pool's 5 s statement_timeout (lib/sql.ts) and holds its row
    // locks briefly, and the (dispatched_at, id) index finds the rows without scanning the table.
    deleteBatchSize: 5_000,
    unverifiedAccountMaxAgeMs: UNVERIFIED_ACCOUNT_MAX_AGE_MS,
    expiredLinkKeepMs: EXPIRED_LINK_KEEP_MS,
  };
}


export async function sweepRetention(
  { pool, queues, log }: { pool: Queryable; queues: QueueSet; log?: Logger },
  overrides: Partial<RetentionSweepOptions> = {},
): Promise<RetentionSweepResult> {
  const options = { ...retentionSweepDefaults(), ...overrides };
  const completedJobsRemoved = Object.fromEntries(QUEUE_NAMES.map((name) => [name, 0])) as Record<QueueName, number>;
  for (const name of QUEUE_NAMES) completedJobsRemoved[name] = await cleanCompleted(queues, name, options);
  const outboxRowsDeleted = await deleteDispatchedRows(pool, options);
  const jobOutcomesDeleted = await deleteOldJobOutcomes(pool, options);
  const unverifiedAccountsPurged = await purgeUnverifiedAccounts(pool, options);
  const expiredLinksDeleted = await deleteExpiredLinks(pool, options);
  const result = { completedJobsRemoved, outboxRowsDeleted, jobOutcomesDeleted, unverifiedAccountsPurged, expiredLinksDeleted };
  log?.info('retention sweep done', {
    outboxRowsDeleted,
    jobOutcomesDeleted,
    unverifiedAccountsPurged,
    expiredLinksDeleted,
    completedJobsRemoved: Object.values(completedJobsRemoved).reduce((sum, count) => sum + count, 0),
  });
  return result;
}

async function cleanCompleted(
  queues: QueueSet,
  name: QueueName,
  { completedJobMaxAgeMs, cleanBatchSize }: RetentionSweepOptions,
): Promise<number> {
  return inBatches(cleanBatchSize, async () => (await queues[name].clean(completedJobMaxAgeMs, cleanBatchSize, 'completed')).length);
}

async function deleteDispatchedRows(
  pool: Queryable,
  { dispatchedRowMaxAgeMs, deleteBatchSize }: RetentionSweepOptions,
): Promise<number> {
  const maxAgeSecs = dispatchedRowMaxAgeMs / 1_000;
  // `dispatched_at < …` is never true for NULL: an undispatched row cannot match, whatever its age.
  return inBatches(deleteBatchSize, () =>
    execute(pool, sql`
      DELETE FROM outbox_messages
       WHERE id IN (
         SELECT id
           FROM outbox_messages
          WHERE dispatched_at IS NOT NULL
            AND dispatched_at < now() - make_interval(secs => ${maxAgeSecs}::float8)
          LIMIT ${deleteBatchSize})`),
  );
}

async function deleteOldJobOutcomes(pool: Queryable, { jobOutcomeMaxAgeMs, deleteBatchSize }: RetentionSweepOptions): Promise<number> {
  const maxAgeSecs = jobOutcomeMaxAgeMs / 1_000;
  return inBatches(deleteBatchSize, () =>
    execute(pool, sql`
      DELETE FROM job_outcomes
       WHERE job_id IN (
         SELECT job_id
           FROM job_outcomes
          WHERE recorded_at < now() - make_interval(secs => ${maxAgeSecs}::float8)
          LIMIT ${deleteBatchSize})`),
  );
}
