// The daily dead-letter digest: the maintenance queue's `send-dead-letter-digest` job, at 08:00 UTC
// (workers/maintenance/maintenance-queue.ts). The alerts of dead-letter-alerts.ts say "this just failed"; the digest
// says "this still waits for a person": the unresolved dead letters per queue and the oldest of
// each, so a dead letter nobody looked at does not age in silence.
//
// Side effect: one POST to ALERT_WEBHOOK_URL carrying queue names, counts and timestamps only, never
// ids, payloads or personal data. Idempotency key `dead-letter-digest-<YYYY-MM-DD>` (the UTC date
// of the run), so a retry or a second run on the same day is deduplicated by the webhook. Nothing
// is sent when nothing waits (logged at info); without ALERT_WEBHOOK_URL the digest is logged at
// warn instead. Retries: the scheduler's job template (maintenance-queue.ts), since the next
// digest is a day away.
import type { Logger } from '@/lib/log';
import { query, sql, type Queryable } from '@/lib/sql';
import { callProvider } from '@/workers/providers/http-provider';
import type { ProviderApiKey } from '@/lib/provider-endpoints';

export interface DeadLetterDigest {
  kind: 'dead-letter-digest';
  /** The UTC date of the run, YYYY-MM-DD. */
  date: string;
  unresolved: QueueDigest[];
  total: number;
}

export interface QueueDigest {
  queue: string;
  count: number;
  oldestFailedAt: string;
}

export interface DeadLetterDigestDeps {
  pool: Queryable;
  log: Logger;
  /** Where the digest is POSTed; undefined logs it instead. */
  webhookUrl: string | undefined;
  /** ALERT_WEBHOOK_API_KEY, sent with each POST when set. */
  webhookKey?: ProviderApiKey;
  providerTimeoutMs: number;
  /** Aborts an in-flight webhook call (shutdown); the job then fails and is retried. */
  signal?: AbortSignal;
}

export interface DeadLetterDigestOptions {
  /** The moment whose UTC date names the digest. */
  now?: Date;
  /**
   * Only these queues. A narrower digest is a different digest, so its idempotency key names them;
   * it lets an operator, or a test sharing its database, look at some queues alone.
   */
  queues?: readonly string[];
}

export interface DeadLetterDigestResult {
  date: string;
  total: number;
  posted: boolean;
}

interface QueueRow {
  queue: string;
  count: number;
  oldest_failed_at: Date;
}

export async function sendDeadLetterDigest(
  { pool, log, webhookUrl, webhookKey, providerTimeoutMs, signal }: DeadLetterDigestDeps,
  { now = new Date(), queues }: DeadLetterDigestOptions = {},
): Promise<DeadLetterDigestResult> {
  const date = now.toISOString().slice(0, 10);
  const digest = await buildDigest(pool, date, queues);
  if (digest.total === 0) {
    log.info('no unresolved dead letters; no digest sent', { date });
    return { date, total: 0, posted: false };
  }

  if (webhookUrl === undefined) {
    log.warn('dead-letter digest (ALERT_WEBHOOK_URL unset: logged, not sent)', {
      date,
      total: digest.total,
      queues: digest.unresolved.map(({ queue, count }) => `${queue}=${count}`).join(','),
      oldestFailedAt: digest.unresolved.map((group) => group.oldestFailedAt).sort()[0],
    });
    return { date, total: digest.total, posted: false };
  }

  const scope = queues === undefined ? '' : `-${[...queues].sort().join('+')}`;
  const idempotencyKey = `dead-letter-digest-${date}${scope}`;
  await callProvider({
    provider: 'alerts',
    method: 'POST',
    url: webhookUrl,
    apiKey: webhookKey,
    idempotencyKey,
    body: digest,
    timeoutMs: providerTimeoutMs,
    signal,
  });
  log.info('dead-letter digest sent', { key: idempotencyKey, total: digest.total, queues: digest.unresolved.length });
  return { date, total: digest.total, posted: true };
}

async function buildDigest(pool: Queryable, date: string, queues: readonly string[] | undefined): Promise<DeadLetterDigest> {
  // A null array means every queue; one grouped scan, since unresolved letters are few by design.
  const only = queues === undefined ? null : [...queues];
  const rows = await query<QueueRow>(pool, sql`
    SELECT queue, count(*)::int AS count, min(failed_at) AS oldest_failed_at
      FROM dead_letters
     WHERE resolution IS NULL
       AND (${only}::text[] IS NULL OR queue = ANY(${only}::text[]))
     GROUP BY queue
     ORDER BY queue`);
  const unresolved = rows.map((row) => ({
    queue: row.queue,
    count: row.count,
    oldestFailedAt: row.oldest_failed_at.toISOString(),
  }));
  return {
    kind: 'dead-letter-digest',
    date,
    unresolved,
    total: unresolved.reduce((sum, group) => sum + group.count, 0),
  };
}
