// Runs the redrives the admin starts (dead_letter_redrives): each pass takes one due, running
// redrive, claims its next batch of matching dead letters, puts them back on their queues through
// the one replay path (lib/dead-letter-replay.ts: same job options, same audit rows) and schedules
// the next batch for when this one has been let out at the redrive's pace. Started by
// startMaintenance in every worker process; SKIP LOCKED on the redrive row means one batch at a
// time per redrive across all of them. Why here and not in the web: docs/failure-model.md#redrives.
import { deadLetterMatchSchema, matchingDeadLetters } from '@/lib/dead-letter-filter';
import { replayAuditSql, requeueDeadLetters } from '@/lib/dead-letter-replay';
import { errorSummary, type Logger } from '@/lib/log';
import { startPollLoop, type PollLoop } from '@/lib/poll-loop';
import type { QueueSet } from '@/lib/queues';
import { execute, query, sql, transaction, type Pool } from '@/lib/sql';
import { jobOptions } from '@/workers/jobs/job-contracts';

/**
 * A batch holds this many seconds of replays at the redrive's pace: at most one batch of delayed
 * jobs waits in Valkey at a time, and a pause takes effect within one batch.
 */
const BATCH_SECONDS = 5;
/** The claim's row locks and one addBulk per queue stay small whatever the pace. */
const MAX_BATCH = 500;
/** The claim, the Valkey calls and the mark share one transaction; it must never be long. */
const BATCH_DEADLINE_MS = 10_000;

export interface RedriveDeps {
  pool: Pool;
  /** Where replayed jobs go: this process's producer queues. */
  queues: QueueSet;
  log: Logger;
}

export interface RedriveBatchResult {
  redriveId: string;
  replayed: number;
  status: 'running' | 'done' | 'cancelled';
}

interface RedriveRow {
  id: string;
  filter: unknown;
  last_id: string;
  per_second: number;
  started_by: string;
}

interface LetterRow {
  id: string;
  queue: string;
  job_name: string;
  job_id: string;
  payload: unknown;
  options: unknown;
}

export function batchSizeFor(perSecond: number): number {
  return Math.min(MAX_BATCH, Math.max(1, Math.round(perSecond * BATCH_SECONDS)));
}

/**
 * One batch of the running redrive that is due first; undefined when none is. A Valkey failure
 * rolls the whole batch back: its letters stay unresolved and the redrive tries again.
 */
export async function runRedriveBatch(
  { pool, queues, log }: RedriveDeps,
  { batchSize }: { batchSize?: number } = {},
): Promise<RedriveBatchResult | undefined> {
  return transaction(
    pool,
    async (client) => {
      const [redrive] = await query<RedriveRow>(client, sql`
        SELECT id, filter, last_id, per_second, started_by
          FROM dead_letter_redrives
         WHERE status = 'running' AND next_batch_at <= now()
         ORDER BY next_batch_at, id
         LIMIT 1
           FOR UPDATE SKIP LOCKED`);
      if (!redrive) return undefined;

      const match = deadLetterMatchSchema.safeParse(redrive.filter);
      if (!match.success) {
        // The web writes only filters it parsed; a row edited by hand is stopped, not guessed at.
        log.error('redrive has an unreadable filter; cancelled', { redrive: redrive.id });
        await execute(client, sql`
          UPDATE dead_letter_redrives SET status = 'cancelled', changed_by = 'workers (unreadable filter)',
                 updated_at = now(), finished_at = now()
           WHERE id = ${redrive.id}`);
        return { redriveId: redrive.id, replayed: 0, status: 'cancelled' };
      }

      const size = batchSize ?? batchSizeFor(redrive.per_second);
      const note = `redrive #${redrive.id}`;
      const covered = sql`${matchingDeadLetters(match.data)} AND id <= ${redrive.last_id}::bigint`;
      const letters = await query<LetterRow>(client, sql`
        UPDATE dead_letters
           SET resolution = 'replayed', resolved_at = now(), resolved_by = ${redrive.started_by}, resolution_note = ${note}
         WHERE id IN (SELECT id FROM dead_letters WHERE ${covered} ORDER BY id LIMIT ${size} FOR UPDATE SKIP LOCKED)
        RETURNING id, queue, job_name, job_id, payload, options`);
      letters.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));

      if (letters.length > 0) {
        await requeueDeadLetters(
          queues,
          letters.map((row) => ({ id: row.id, queue: row.queue, jobName: row.job_name, jobId: row.job_id, payload: row.payload, options: row.options })),
          { jobOptions, spacingMs: 1_000 / redrive.per_second },
        );
        const ids = letters.map((row) => row.id);
        await execute(client, replayAuditSql({ actor: redrive.started_by, queue: match.data.queue ?? null, ids, note }));
      }

      // Letters another transaction holds were skipped above, not missed: they keep it running.
      const [{ remaining } = { remaining: false }] = await query<{ remaining: boolean }>(client, sql`
        SELECT EXISTS (SELECT 1 FROM dead_letters WHERE ${covered}) AS remaining`);
      const status = remaining ? 'running' : 'done';
      await execute(client, sql`
        UPDATE dead_letter_redrives
           SET replayed = replayed + ${letters.length},
               status = ${status},
               updated_at = now(),
               finished_at = CASE WHEN ${status} = 'done' THEN now() END,
               next_batch_at = now() + make_interval(secs => ${Math.max(letters.length, 1) / redrive.per_second})
         WHERE id = ${redrive.id}`);
      if (status === 'done') log.info('redrive done', { redrive: redrive.id });
      return { redriveId: redrive.id, replayed: letters.length, status };
    },
    { deadlineMs: BATCH_DEADLINE_MS },
  );
}

export interface RedriveLoopOptions {
  /** How often a process looks for a due batch. */
  pollMs?: number;
  /** Letters per batch; by default BATCH_SECONDS of the redrive's pace. */
  batchSize?: number;
  maxBackoffMs?: number;
}

export function startDeadLetterRedrives(
  deps: RedriveDeps,
  { pollMs = 1_000, batchSize, maxBackoffMs = 30_000 }: RedriveLoopOptions = {},
): PollLoop {
  return startPollLoop({
    idleMs: pollMs,
    maxBackoffMs,
    async pass() {
      const result = await runRedriveBatch(deps, { batchSize });
      if (result && result.replayed > 0) deps.log.debug('redrive batch replayed', { ...result });
      return 'idle';
    },
    onFailure(error, failures, waitMs) {
      deps.log.warn('redrive batch failed; its letters stay unresolved, backing off', {
        failures,
        waitMs: Math.round(waitMs),
        error: errorSummary(error),
      });
    },
    onRecovery: (failures) => deps.log.info('redrives recovered', { afterFailures: failures }),
  });
}
