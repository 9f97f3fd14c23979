// Dead-letter alerts: every failed dead letter is accounted for at ALERT_WEBHOOK_URL, grouped by
// failure fingerprint (queue + error class + normalised message, lib/failure-fingerprint.ts).
// Once per window, one pass claims every unalerted dead letter and sends at most ONE alert, listing
// each fingerprint apart. A fingerprint is an incident: the first letters open it and are announced;
// later ones are counted silently, with a follow-up carrying the count at most every FOLLOW_UP_MS;
// after QUIET_MS without letters the next one opens a new incident. One outage is one alert, not
// one per window (alert fatigue). Cancelled jobs (kind 'cancelled') never alert: a person did that.
// Alerts carry ids, job names and error messages only, never payloads or personal data.
//
// The claim and the incidents live in PostgreSQL (dead_letters.alerted_at, dead_letter_alert_groups):
// durable, and SKIP LOCKED lets the loop run in every worker process. Claim, incident update, POST
// and mark share one transaction, so no alert is lost (a failed POST rolls back and the rows wait)
// and none is applied twice: a resend after a crash carries the same claim, the same decisions and
// the same Idempotency-Key (`dead-letters-<minId>-<maxId>`), which the webhook dedupes.
//
// Without ALERT_WEBHOOK_URL each announced fingerprint is logged once at warn level and the rows
// are still marked alerted: an alert with nowhere to go is logged, not retried forever.
// docs/failure-model.md#alerts
import { FINGERPRINT_INPUT_CHARS, fingerprintOfDeadLetter, type FailureFingerprint } from '@/lib/failure-fingerprint';
import { errorSummary, type Logger } from '@/lib/log';
import { startPollLoop, type PollLoop } from '@/lib/poll-loop';
import { execute, query, sql, transaction, type Pool } from '@/lib/sql';
import { callProvider } from '@/workers/providers/http-provider';
import type { ProviderApiKey } from '@/lib/provider-endpoints';
import { RateLimitedProviderError } from '@/workers/providers/provider-errors';
import { FOLLOW_UP_MS, QUIET_MS, recordIncidents, type Announcement, type IncidentTiming } from '@/workers/loops/dead-letter-incidents';

/** Rows per pass: generous, so a burst is one alert, yet a bounded query and a bounded body. */
const MAX_CLAIM = 10_000;
/** Distinct raw error messages shown per fingerprint: enough to recognise the failure, not a log dump. */
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
  /** ALERT_WEBHOOK_API_KEY, sent with each POST when set. */
  webhookKey?: ProviderApiKey;
  providerTimeoutMs: number;
  /** Aborts an in-flight webhook call (shutdown); the pass then rolls back. */
  signal?: AbortSignal;
}

export interface DeadLetterAlert {
  kind: 'dead-letters';
  /** created_at of the oldest and newest dead letter the alert speaks of. */
  window: { from: string; to: string };
  /** Dead letters the alert speaks of: each failure's sinceLastAlert, summed. */
  total: number;
  /** One entry per failure fingerprint, most dead letters first. */
  failures: FailureAlert[];
  /** The claim this alert was built from. Bigint ids as strings: they do not fit JSON numbers. */
  deadLetterIds: { first: string; last: string };
}

export interface FailureAlert {
  fingerprint: string;
  queue: string;
  errorClass: string;
  /** The normalised message the fingerprint is made of. */
  message: string;
  /** 'new': this incident's first alert; 'ongoing': a follow-up with the count since the last. */
  status: 'new' | 'ongoing';
  openedAt: string;
  sinceLastAlert: number;
  sinceOpened: number;
  /** Job names and raw samples of this window's dead letters. */
  jobNames: Record<string, number>;
  sampleErrors: string[];
  oldestFailedAt: string;
}

interface ClaimedRow {
  id: string;
  queue: string;
  job_name: string;
  error_head: string;
  stack_head: string | null;
  fingerprint: string | null;
  created_at: Date;
  failed_at: Date;
}

export interface AlertPassOptions extends Partial<IncidentTiming> {
  batchLimit?: number;
}

/**
 * One pass: claims every unalerted failed dead letter (up to `batchLimit`), updates the incidents
 * of their fingerprints, sends one alert for those that are announced and marks the rows alerted,
 * all or nothing. Throws the ProviderError when the webhook refuses; the rows then stay unalerted.
 */
export async function sendPendingAlerts(
  { pool, log, webhookUrl, webhookKey, providerTimeoutMs, signal }: DeadLetterAlertDeps,
  { batchLimit = MAX_CLAIM, quietMs = QUIET_MS, followUpMs = FOLLOW_UP_MS }: AlertPassOptions = {},
): Promise<{ alerted: number; posted: boolean; announced: number }> {
  return transaction(
    pool,
    async (client) => {
      const rows = await query<ClaimedRow>(client, sql`
        SELECT id, queue, job_name, left(last_error, ${FINGERPRINT_INPUT_CHARS}) AS error_head,
               left(stack_trace, 200) AS stack_head, fingerprint, created_at, failed_at
          FROM dead_letters
         WHERE alerted_at IS NULL AND kind = 'failed'
         ORDER BY id
         LIMIT ${batchLimit}
           FOR UPDATE SKIP LOCKED`);
      if (rows.length === 0) return { alerted: 0, posted: false, announced: 0 };

      const groups = groupByFingerprint(rows);
      const decisions = await recordIncidents(client, [...groups.values()], { quietMs, followUpMs });
      const alert = buildAlert(rows, groups, decisions);

      let posted = false;
      if (alert && webhookUrl !== undefined) {
        const idempotencyKey = `dead-letters-${alert.deadLetterIds.first}-${alert.deadLetterIds.last}`;
        await callProvider({
          provider: 'alerts',
          method: 'POST',
          url: webhookUrl,
          apiKey: webhookKey,
          idempotencyKey,
          body: alert,
          timeoutMs: providerTimeoutMs,
          signal,
        });
        posted = true;
        log.info('dead-letter alert sent', { key: idempotencyKey, total: alert.total, failures: alert.failures.length });
      } else if (alert) {
        for (const failure of alert.failures) {
          log.warn('dead letters (ALERT_WEBHOOK_URL unset: logged, not sent)', {
            queue: failure.queue,
            fingerprint: failure.fingerprint,
            status: failure.status,
            count: failure.sinceLastAlert,
            jobNames: Object.entries(failure.jobNames).map(([name, count]) => `${name}=${count}`).join(','),
            oldestFailedAt: failure.oldestFailedAt,
            sampleError: failure.sampleErrors[0],
          });
        }
      }

      // Rows written without a fingerprint (by hand, or before the column) get theirs here.
      const ids = rows.map((row) => row.id);
      const fingerprints = rows.map((row) => fingerprintOf(row).fingerprint);
      await execute(client, sql`
        UPDATE dead_letters d SET alerted_at = now(), fingerprint = coalesce(d.fingerprint, given.fingerprint)
          FROM unnest(${ids}::bigint[], ${fingerprints}::text[]) AS given(id, fingerprint)
         WHERE d.id = given.id`);
      return { alerted: rows.length, posted, announced: alert?.failures.length ?? 0 };
    },
    { deadlineMs: providerTimeoutMs + TRANSACTION_MARGIN_MS },
  );
}

interface Group {
  failure: FailureFingerprint;
  count: number;
  rows: ClaimedRow[];
}

function fingerprintOf(row: ClaimedRow): FailureFingerprint {
  const computed = fingerprintOfDeadLetter({ queue: row.queue, lastError: row.error_head, stackTrace: row.stack_head });
  // A stored fingerprint wins: it was made from the whole message.
  return row.fingerprint ? { ...computed, fingerprint: row.fingerprint } : computed;
}

function groupByFingerprint(rows: readonly ClaimedRow[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const row of rows) {
    const failure = fingerprintOf(row);
    const group = groups.get(failure.fingerprint) ?? { failure, count: 0, rows: [] };
    group.count += 1;
    group.rows.push(row);
    groups.set(failure.fingerprint, group);
  }
  return groups;
}

/** The announced fingerprints as one alert; undefined when every one of them is silent. */
function buildAlert(
  rows: readonly ClaimedRow[],
  groups: ReadonlyMap<string, Group>,
  decisions: ReadonlyMap<string, Announcement>,
): DeadLetterAlert | undefined {
  const failures: FailureAlert[] = [];
  const spoken: ClaimedRow[] = [];
  for (const [fingerprint, group] of groups) {
    const decision = decisions.get(fingerprint);
    if (!decision || decision.status === 'silent') continue;
    spoken.push(...group.rows);
    const jobNames = new Map<string, number>();
    for (const row of group.rows) jobNames.set(row.job_name, (jobNames.get(row.job_name) ?? 0) + 1);
    failures.push({
      fingerprint,
      queue: group.failure.queue,
      errorClass: group.failure.errorClass,
      message: group.failure.message,
      status: decision.status,
      openedAt: decision.openedAt.toISOString(),
      sinceLastAlert: decision.sinceLastAlert,
      sinceOpened: decision.sinceOpened,
      jobNames: Object.fromEntries(jobNames),
      sampleErrors: [...new Set(group.rows.map((row) => row.error_head.slice(0, SAMPLE_ERROR_CHARS)))].slice(0, SAMPLE_ERRORS),
      oldestFailedAt: earliest(group.rows.map((row) => row.failed_at)).toISOString(),
    });
  }
  const first = rows[0];
  const last = rows.at(-1);
  if (failures.length === 0 || !first || !last) return undefined;
  failures.sort((a, b) => b.sinceLastAlert - a.sinceLastAlert || a.queue.localeCompare(b.queue) || a.fingerprint.localeCompare(b.fingerprint));
  const created = spoken.map((row) => row.created_at);
  return {
    kind: 'dead-letters',
    window: { from: earliest(created).toISOString(), to: latest(created).toISOString() },
    total: failures.reduce((sum, failure) => sum + failure.sinceLastAlert, 0),
    failures,
    deadLetterIds: { first: first.id.toString(), last: last.id.toString() },
  };
}

export interface DeadLetterAlertOptions extends AlertPassOptions {
  /** How long dead letters gather into one alert (ALERT_WINDOW_MS). */
  windowMs: number;
}

/** Runs a pass every window until stopped; backs off while the webhook or the database fails. */
export function startDeadLetterAlerts(
  deps: Omit<DeadLetterAlertDeps, 'signal'>,
  { windowMs, batchLimit = MAX_CLAIM, ...timing }: DeadLetterAlertOptions,
): PollLoop {
  const { log } = deps;
  return startPollLoop({
    // The first pass waits a window too: dead letters left from before a restart and those of a
    // burst in progress go out together.
    firstWaitMs: windowMs,
    idleMs: windowMs,
    maxBackoffMs: windowMs * MAX_BACKOFF_WINDOWS,
    async pass(signal) {
      const result = await sendPendingAlerts({ ...deps, signal }, { batchLimit, ...timing });
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
