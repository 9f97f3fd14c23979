// The reconciler: a scheduled job (`reconcile-signup-effects` on the maintenance queue,
// workers/maintenance/maintenance-queue.ts) that compares what PostgreSQL says each signup still owes with what the
// queues hold, and puts back any job that Valkey lost.
//
// Valkey is not the system of record. With AOF `everysec` a crash loses up to a second of writes;
// a failover to a replica that had not caught up, or a FLUSHALL, loses everything. PostgreSQL
// still knows every signup's work: one outbox row per job, and one effect row per job that was
// done. A dispatched job whose effect is missing must be accounted for in one of four ways:
//
//   queued or running   BullMQ holds it (waiting, delayed, prioritized, active) or finished it
//                       (completed: the handler may have had nothing to do);
//   dead-lettered       a dead_letters row waits for a person, or a person discarded it; a job in
//                       BullMQ's failed set without that row (its worker died before the insert)
//                       gets the row written here;
//   done                its effect row exists;
//   skipped on purpose  its handler found nothing to do (the address already has an account) and
//                       left a job_outcomes row (workers/runtime/job-outcomes.ts).
//
// Anything else is lost and is added again. The outbox relay and this are the only ways work
// re-enters the queues, and both are idempotent: job ids are derived from the user id (or the
// invitation, or the press of "resend"), so adding a job that exists adds nothing; each effect
// table's unique key admits one row; and every handler reads and validates first, completing
// without a provider call when its effect already exists. A lost job comes back with what its
// row says: the delay left until its time, and its tenant's pacing.
// Two passes racing each other (one ran past its interval) therefore change nothing either.
//
// A job whose contract deduplicates (one run serves many requests) may never have existed: BullMQ
// collapsed its add into a job of the same deduplication id. Its row is accounted for by that job
// while it exists, and once it is gone, by the contract's servedSql: a run after the request.
//
// Removing a job by hand in the admin does not cancel it: this puts it back. Discarding its dead
// letter is how a person decides a job must not run.
import type { Job, Queue } from 'bullmq';
import { QUEUE_NAMES } from '@/lib/config';
import type { Logger } from '@/lib/log';
import { metrics } from '@/lib/metrics';
import { effectExistsSql } from '@/lib/job-effects';
import { fromSql, redispatchRows, type OutboxRow, type OutboxSqlRow } from '@/lib/outbox';
import type { QueueSet } from '@/lib/queues';
import { join, query, raw, sql, type Pool, type Queryable } from '@/lib/sql';
import { ALL_JOBS, ERASURE_JOBS, jobOptions, pacedByTenant } from '@/workers/jobs/job-contracts';
import { writeDeadLetter } from '@/workers/runtime/dead-letter-recorder';

/**
 * A minute between passes: a lost job is back within about a minute past its grace period, while
 * a pass (one indexed query and one pipelined Valkey round trip per batch) stays negligible. More
 * often would mostly re-check jobs that are simply still waiting their turn.
 */
export const RECONCILE_EVERY_MS = 60_000;

export interface ReconcileOptions {
  /**
   * Rows younger than this are left alone. Fresh work is in the hands of the signup's fast path,
   * the relay (which claims rows after 2 s) and the dead-letter recorder (milliseconds after a
   * final failure); a minute is far longer than any of them takes, so a pass never races them.
   */
  graceMs: number;
  /** Rows older than this are not looked at, which bounds the cost of a pass. */
  lookbackMs: number;
  /** Rows per query, and job lookups per Valkey round trip. */
  batchSize: number;
  log?: Logger;
}

export const RECONCILE_DEFAULTS: Omit<ReconcileOptions, 'log'> = {
  graceMs: 60_000,
  // A week: longer than a job stays unfinished by design (retries end after one to three hours,
  // workers/resilience/retry-policy.ts; an open circuit breaker holds a queue only while its
  // provider is down), and as long as BullMQ keeps failed jobs. A gap older than that is an incident for a person, not a job to redo silently.
  lookbackMs: 7 * 24 * 60 * 60 * 1_000,
  // One page of rows in memory and one pipelined batch of lookups: small enough for neither to
  // stall, large enough that a pass after a full data loss needs few round trips.
  batchSize: 500,
};

export interface ReconcileResult {
  /** Rows that owed an effect and had no dead letter, so their job had to be accounted for. */
  checked: number;
  reenqueued: number;
  deadLettersWritten: number;
}

type CandidateRow = OutboxSqlRow;

// A payload whose ids are not UUIDs must not make the casts below fail the whole query.
const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/**
 * One pass over every candidate in the window, oldest first, `batchSize` at a time. Paging on the
 * row id means a backlog larger than one batch (jobs re-enqueued earlier, still waiting) cannot
 * hide newer losses behind it.
 */
export async function reconcileOnce(
  pool: Pool,
  queues: QueueSet,
  { graceMs, lookbackMs, batchSize, log }: ReconcileOptions,
): Promise<ReconcileResult> {
  const result: ReconcileResult = { checked: 0, reenqueued: 0, deadLettersWritten: 0 };
  let afterId = 0n;
  for (;;) {
    const rows = await candidates(pool, { graceMs, lookbackMs, batchSize, afterId });
    const page = await accountFor(pool, queues, rows.flatMap(toOutboxRow));
    result.checked += rows.length;
    result.reenqueued += page.reenqueued;
    result.deadLettersWritten += page.deadLettersWritten;
    const last = rows.at(-1);
    if (rows.length < batchSize || !last) break;
    afterId = BigInt(last.id);
  }
  if (result.reenqueued > 0 || result.deadLettersWritten > 0) {
    metrics().reconcilerRepairs.inc({ kind: 'reenqueued' }, result.reenqueued);
    metrics().reconcilerRepairs.inc({ kind: 'dead_letter_written' }, result.deadLettersWritten);
    log?.warn('reconciler accounted for jobs Valkey had lost', { ...result });
  }
  return result;
}

/**
 * Dispatched outbox rows in the window whose user exists (or, for an erasure, is gone), whose
 * effect does not, and whose job has no dead letter that is waiting for a person or was discarded
 * by one, and no recorded skip.
 * Undispatched rows belong to the relay.
 */
function candidates(
  pool: Pool,
  { graceMs, lookbackMs, batchSize, afterId }: Omit<ReconcileOptions, 'log'> & { afterId: bigint },
): Promise<CandidateRow[]> {
  const lookbackSecs = lookbackMs / 1_000;
  const graceSecs = graceMs / 1_000;
  return query<CandidateRow>(pool, sql`
    WITH recent AS (
      SELECT o.id, o.queue, o.job_name, o.job_id, o.payload, o.tenant, o.available_at, o.trace_context, o.created_at,
             CASE WHEN o.payload->>'userId' ~* ${UUID_PATTERN} THEN (o.payload->>'userId')::uuid END AS user_id,
             CASE WHEN o.payload->>'invitationId' ~* ${UUID_PATTERN} THEN (o.payload->>'invitationId')::uuid END AS invitation_id
        FROM outbox_messages o
       WHERE o.dispatched_at IS NOT NULL
         -- A row is dispatched after it is created, so this bound is implied by the next one; it
         -- is here so the (dispatched_at, id) index narrows the scan of an ever-growing table.
         AND o.dispatched_at >= now() - make_interval(secs => ${lookbackSecs}::float8)
         AND o.created_at >= now() - make_interval(secs => ${lookbackSecs}::float8)
         AND o.created_at <= now() - make_interval(secs => ${graceSecs}::float8)
         AND o.id > ${afterId.toString()}::bigint
    )
    SELECT r.id, r.queue, r.job_name, r.job_id, r.payload, r.tenant, r.available_at, r.trace_context
      FROM recent r
     -- Work for a user or an invitation that no longer exists is owed to nobody, but for the
     -- erasure of a deleted account's data at the providers, owed because the user is gone.
     WHERE (EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id)
            OR EXISTS (SELECT 1 FROM invitations i WHERE i.id = r.invitation_id)
            OR r.job_name = ANY(${ERASURE_JOBS.map((contract) => contract.name)}::text[]))
       AND NOT EXISTS (
             SELECT 1 FROM dead_letters d
              WHERE d.job_id = r.job_id AND (d.resolution IS NULL OR d.resolution = 'discarded'))
       -- A job that ran and skipped on purpose has no effect row, and needs none.
       AND NOT EXISTS (SELECT 1 FROM job_outcomes jo WHERE jo.job_id = r.job_id)
       AND ${effectMissing}
     ORDER BY r.id
     LIMIT ${batchSize}`);
}

/**
 * True for a row whose job's effect row does not exist, by each contract's effect declaration
 * (lib/job-effects.ts), and for a deduplicating contract, whose request no later run served. A
 * job no contract knows is left alone: this pass cannot tell it done.
 */
const effectMissing = sql`CASE r.job_name ${join(
  ALL_JOBS.map((contract) => {
    const effect = effectExistsSql(contract.effect, { jobId: raw('r.job_id'), payload: raw('r.payload') });
    const served = contract.deduplication?.servedSql({ userId: raw('r.user_id'), since: raw('r.created_at') });
    return sql`WHEN ${contract.name} THEN NOT ${effect}${served ? sql` AND NOT ${served}` : sql``}`;
  }),
  ' ',
)} ELSE false END`;

async function accountFor(
  pool: Queryable,
  queues: QueueSet,
  rows: OutboxRow[],
): Promise<{ reenqueued: number; deadLettersWritten: number }> {
  // getJob is one HGETALL, pipelined over the connection; getJobState scans the wait list, so it
  // is asked only of finished jobs, where it answers from the completed and failed sets first.
  const jobs = await Promise.all(rows.map((row) => queues[row.queue].getJob(row.jobId)));
  const lost = await withoutCollapsed(queues, rows.filter((_, index) => jobs[index] === undefined));
  const finished = rows.flatMap((row, index) => {
    const job = jobs[index];
    return job?.finishedOn ? [{ row, job }] : [];
  });
  const states = await Promise.all(finished.map(({ row }) => queues[row.queue].getJobState(row.jobId)));
  const failed = finished.filter((_, index) => states[index] === 'failed');

  // Each job continues its signup's trace; this pass's span links to them (lib/outbox.ts).
  if (lost.length > 0) await redispatchRows({ queues, jobOptions, pacedByTenant }, lost, 'reconciler');
  let deadLettersWritten = 0;
  for (const { row, job } of failed) {
    if (await writeMissingDeadLetter(pool, queues[row.queue], row.jobId, job)) deadLettersWritten += 1;
  }
  return { reenqueued: lost.length, deadLettersWritten };
}

/**
 * Of rows whose job does not exist, those whose add was collapsed into a job that still exists
 * (its deduplication id names it) are that job's to serve; the rest are lost. One GET per
 * deduplicating row and one HGETALL per job named, pipelined.
 */
async function withoutCollapsed(queues: QueueSet, rows: OutboxRow[]): Promise<OutboxRow[]> {
  const collapsed = await Promise.all(
    rows.map(async (row) => {
      const deduplication = jobOptions(row.jobName, row.payload).deduplication;
      if (!deduplication) return false;
      const joined = await queues[row.queue].getDeduplicationJobId(deduplication.id);
      return joined !== null && (await queues[row.queue].getJob(joined)) !== undefined;
    }),
  );
  return rows.filter((_, index) => !collapsed[index]);
}

/**
 * A failed job whose dead letters were all replayed may still be this very failure, if the replay
 * has not yet removed it: writing it again would add nothing, so it is not counted.
 */
async function writeMissingDeadLetter(pool: Queryable, queue: Queue, jobId: string, job: Job): Promise<boolean> {
  const failedAt = new Date(job.finishedOn ?? Date.now());
  const [known] = await query(pool, sql`SELECT 1 FROM dead_letters WHERE job_id = ${jobId} AND failed_at = ${failedAt}`);
  if (known) return false;
  await writeDeadLetter(pool, queue, job);
  return true;
}

function toOutboxRow(row: CandidateRow): OutboxRow[] {
  return (QUEUE_NAMES as readonly string[]).includes(row.queue) ? [fromSql(row)] : [];
}
