// Dead-letter alerts: every dead letter leads to an alert at ALERT_WEBHOOK_URL, grouped. Once per
// window, one pass claims every unalerted dead letter and sends ONE alert with a count per queue,
// because a burst of 1,000 dead letters is one incident, and 1,000 pages would bury it (alert
// fatigue). Alerts carry ids, job names and error messages only, never payloads or personal data.
//
// The claim lives in PostgreSQL (dead_letters.alerted_at), not in memory: it is durable and
// survives restarts, and SKIP LOCKED lets the loop run in every worker process without two of them
// claiming the same row. Claim, POST and mark happen in one transaction, so no alert is lost (a
// failed POST rolls back and the rows wait for the next pass) and none is applied twice: a process
// that dies between POST and commit leaves the rows unalerted, the next pass claims the same rows
// and sends the same Idempotency-Key (`dead-letters-<minId>-<maxId>`), which the webhook dedupes.
//
// Without ALERT_WEBHOOK_URL each group is logged once at warn level and the rows are still marked
// alerted: an alert with nowhere to go is logged, not retried forever.
import { errorSummary, type Logger } from '@/lib/log';
import { startPollLoop, type PollLoop } from '@/lib/poll-loop';
import { execute, query, sql, transaction, type Pool } from '@/lib/sql';
import { callProvider } from '@/workers/providers/http-provider';
import { RateLimitedProviderError } from '@/workers/providers/provider-errors';

/** Rows per pass: generous, so a burst is one alert, yet a bounded query and a bounded body. */
const MAX_CLAIM = 10_000;
/** Distinct error messages shown per queue: enough to recognise the failure, not a log dump. */
const SAMPLE_ERRORS = 3;
const SAMPLE_ERROR_CHARS = 200;
/** A failing webhook is retried within a few windows at most, so an outage delays alerts, not buries them. */
const MAX_BACKOFF_WINDOWS = 4;
/**
 * The claim, the mark and the webhook call share one transaction whose row locks must outlive the
 * call; each statement is bounded by the pool's 5 s statement_timeout.
 */
const TRANSACTION_MARGIN_MS = 10_000;

export interface DeadLetterAlertDeps {
  pool: Pool;
  log: Logger;
  /** Where alerts are POSTed; undefined logs them instead. */
  webhookUrl: string | undefined;
  providerTimeoutMs: number;
  /** Aborts an in-flight webhook call (shutdown); the pass then rolls back. */
  signal?: AbortSignal;
}

export interface DeadLetterAlert {
  kind: 'dead-letters';
  /** created_at of the oldest and newest dead letter in the alert. */
  window: { from: string; to: string };
  total: number;
  queues: QueueAlert[];
  /** Bigint ids as strings: they do not fit JSON numbers. */
  deadLetterIds: { first: string; last: string };
}

export interface QueueAlert {
  queue: string;
  count: number;
  jobNames: Record<string, number>;
  sampleErrors: string[];
  oldestFailedAt: string;
}

interface ClaimedRow {
  id: string;
  queue: string;
  job_name: string;
  last_error: string;
  created_at: Date;
  failed_at: Date;
}

/**
 * One pass: claims every unalerted dead letter (up to `batchLimit`), sends one alert for them and
 * marks them alerted, all or nothing. Throws the ProviderError when the webhook refuses; the rows
 * then stay unalerted.
 */
export async function sendPendingAlerts(
  { pool, log, webhookUrl, providerTimeoutMs, signal }: DeadLetterAlertDeps,
  { batchLimit = MAX_CLAIM }: { batchLimit?: number } = {},
): Promise<{ alerted: number; posted: boolean }> {
  return transaction(
    pool,
    async (client) => {
      const rows = await query<ClaimedRow>(client, sql`
        SELECT id, queue, job_name, left(last_error, ${SAMPLE_ERROR_CHARS}) AS last_error, created_at, failed_at
          FROM dead_letters
         WHERE alerted_at IS NULL
         ORDER BY id
         LIMIT ${batchLimit}
           FOR UPDATE SKIP LOCKED`);
      const alert = buildAlert(rows);
      if (!alert) return { alerted: 0, posted: false };

      const posted = webhookUrl !== undefined;
      if (posted) {
        const idempotencyKey = `dead-letters-${alert.deadLetterIds.first}-${alert.deadLetterIds.last}`;
        await callProvider({
          provider: 'alerts',
          method: 'POST',
          url: webhookUrl,
          idempotencyKey,
          body: alert,
          timeoutMs: providerTimeoutMs,
          signal,
        });
        log.info('dead-letter alert sent', { key: idempotencyKey, total: alert.total, queues: alert.queues.length });
      } else {
        for (const group of alert.queues) {
          log.warn('dead letters (ALERT_WEBHOOK_URL unset: logged, not sent)', {
            queue: group.queue,
            count: group.count,
            jobNames: Object.entries(group.jobNames).map(([name, count]) => `${name}=${count}`).join(','),
            oldestFailedAt: group.oldestFailedAt,
            sampleError: group.sampleErrors[0],
          });
        }
      }

      const ids = rows.map((row) => row.id.toString());
      await execute(client, sql`UPDATE dead_letters SET alerted_at = now() WHERE id = ANY(${ids}::bigint[])`);
      return { alerted: rows.length, posted };
    },
    { deadlineMs: providerTimeoutMs + TRANSACTION_MARGIN_MS },
  );
}

/** Groups the claimed rows (in id order) into one alert; undefined when there are none. */
function buildAlert(rows: readonly ClaimedRow[]): DeadLetterAlert | undefined {
  const first = rows[0];
  const last = rows.at(-1);
  if (!first || !last) return undefined;

  const byQueue = new Map<string, ClaimedRow[]>();
  for (const row of rows) byQueue.set(row.queue, [...(byQueue.get(row.queue) ?? []), row]);
  const queues = [...byQueue]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([queue, queueRows]): QueueAlert => {
      const jobNames = new Map<string, number>();
      for (const row of queueRows) jobNames.set(row.job_name, (jobNames.get(row.job_name) ?? 0) + 1);
      return {
        queue,
        count: queueRows.length,
        jobNames: Object.fromEntries(jobNames),
        sampleErrors: [...new Set(queueRows.map((row) => row.last_error))].slice(0, SAMPLE_ERRORS),
        oldestFailedAt: earliest(queueRows.map((row) => row.failed_at)).toISOString(),
      };
    });
  const created = rows.map((row) => row.created_at);
  return {
    kind: 'dead-letters',
    window: { from: earliest(created).toISOString(), to: latest(created).toISOString() },
    total: rows.length,
    queues,
    deadLetterIds: { first: first.id.toString(), last: last.id.toString() },
  };
}

export interface DeadLetterAlertOptions {
  /** How long dead letters gather into one alert (ALERT_WINDOW_MS). */
  windowMs: number;
  batchLimit?: number;
}

/** Runs a pass every window until stopped; backs off while the webhook or the database fails. */
export function startDeadLetterAlerts(
  deps: Omit<DeadLetterAlertDeps, 'signal'>,
  { windowMs, batchLimit = MAX_CLAIM }: DeadLetterAlertOptions,
): PollLoop {
  const { log } = deps;
  return startPollLoop({
    // The first pass waits a window too: dead letters left from before a restart and those of a
    // burst in progress go out together.
    firstWaitMs: windowMs,
    idleMs: windowMs,
    maxBackoffMs: windowMs * MAX_BACKOFF_WINDOWS,
    async pass(signal) {
      const result = await sendPendingAlerts({ ...deps, signal }, { batchLimit });
      // A full claim means more are waiting: go again at once.
      return result.alerted === batchLimit ? 'again' : 'idle';
    },
    minimumWaitAfter: (error) => (error instanceof RateLimitedProviderError ? error.retryAfterMs : undefined),
    onFailure(error, failures, waitMs) {
      log.warn('dead-letter alert failed; rows stay unalerted, backing off', {
        failures,
        waitMs: Math.round(waitMs),
        error: errorSummary(error),
      });
    },
    onRecovery: (failures) => log.info('dead-letter alerts recovered', { afterFailures: failures }),
  });
}

function earliest(dates: Date[]): Date {
  return dates.reduce((min, date) => (date < min ? date : min));
}

function latest(dates: Date[]): Date {
  return dates.reduce((max, date) => (date > max ? date : max));
}
