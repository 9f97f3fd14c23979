// Answering a Prometheus scrape: the bearer-token check, the registry in text format, and, in the
// web process, the shared state read at scrape time: the queues' from Valkey (depth by state from
// BullMQ, the oldest waiting job, workers online, each breaker's state) and the outbox's backlog
// from PostgreSQL. Worker processes serve their own registry alone
// (workers/runtime/metrics-server.ts): every process would read the same numbers. The outbox is
// read here, apart from the relay it watches, so a stuck relay cannot freeze the gauge on it.
import { createHash, timingSafeEqual } from 'node:crypto';
import { CircuitBreaker } from '@/lib/circuit-breaker';
import { withDeadline } from '@/lib/deadline';
import { errorSummary, type Logger } from '@/lib/log';
import { declareJobSeries, type Metrics } from '@/lib/metrics';
import { QUEUE_PROVIDERS, type QueueSet } from '@/lib/queues';
import { query, sql, type Queryable } from '@/lib/sql';
import type { Valkey } from '@/lib/valkey';

/** With no token configured every scrape is allowed (the endpoint must then stay internal). */
export function isAuthorizedScrape(authorization: string | null | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const presented = /^Bearer +(\S+)$/i.exec(authorization?.trim() ?? '')?.[1] ?? '';
  // Comparing digests gives both sides one length, so timingSafeEqual leaks neither length nor content.
  return timingSafeEqual(sha256(presented), sha256(token));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** What the web process reads from Valkey at scrape time. */
export interface QueueStateSources {
  queues: QueueSet;
  /** Holds the breakers' keys (lib/circuit-breaker.ts). */
  valkey: Valkey;
  /** QUEUE_PREFIX, the breakers' key prefix. */
  keyPrefix: string;
  log?: Logger;
}

/** Where the web process reads the outbox's backlog at scrape time. */
export interface OutboxStateSources {
  db: Queryable;
  log?: Logger;
}

/** What a scrape renders besides the registry's own samples. */
export interface ScrapeSources {
  /** The web process's queues; a worker process serves its registry alone. */
  queueState?: QueueStateSources;
  /** The web process's database. */
  outboxState?: OutboxStateSources;
  /** The job contracts, whose counters' series are created before the first scrape (declareJobSeries). */
  jobs?: ReadonlyArray<{ queue: string; name: string }>;
}

export interface MetricsRequestDeps extends ScrapeSources {
  metrics: Metrics;
  token?: string;
}

/** GET /api/metrics as a plain Request → Response function. */
export async function handleMetricsRequest(request: Request, deps: MetricsRequestDeps): Promise<Response> {
  if (!isAuthorizedScrape(request.headers.get('authorization'), deps.token)) {
    return new Response('Unauthorized\n', { status: 401, headers: { 'www-authenticate': 'Bearer realm="metrics"' } });
  }
  return new Response(await exposition(deps.metrics, deps), {
    headers: { 'content-type': deps.metrics.registry.contentType, 'cache-control': 'no-store' },
  });
}

/** The registry in Prometheus text format, preceded by reads of the queues and the outbox when given. */
export async function exposition(target: Metrics, { queueState, outboxState, jobs }: ScrapeSources = {}): Promise<string> {
  if (jobs) declareJobSeries(target, jobs);
  const [bullmq] = await Promise.all([
    queueState ? collectQueueState(target, queueState) : '',
    outboxState ? collectOutboxState(target, outboxState) : undefined,
  ]);
  const own = await target.registry.metrics();
  return bullmq === '' ? own : `${own.trimEnd()}\n${bullmq}\n`;
}

/**
 * A queue read that takes longer is given up: the process's own metrics still reach Prometheus well
 * within its default 10 s scrape timeout (a connection still opening waits for Valkey, not 500 ms).
 */
const QUEUE_STATE_BUDGET_MS = 2_000;

/**
 * Per queue: BullMQ's exportPrometheusMetrics (counts by state, one script; completed and failed
 * totals), CLIENT LIST for its workers, and the oldest waiting job (one script, one HGETALL); per
 * provider, one breaker snapshot script. A few commands each, over the fail-fast producer
 * connection, so a Valkey outage costs a scrape at most its 500 ms command timeout.
 */
export async function collectQueueState(target: Metrics, { queues, valkey, keyPrefix, log }: QueueStateSources): Promise<string> {
  const now = Date.now();
  const providers = [...new Set(Object.values(QUEUE_PROVIDERS))];
  try {
    const read = Promise.all([
      Promise.all(
        Object.values(queues).map(async (queue) => {
          const [text, workers, [next]] = await Promise.all([
            queue.exportPrometheusMetrics(),
            queue.getWorkersCount(),
            queue.getWaiting(0, 0),
          ]);
          // A job back from a retry or a rate limit has waited since its last start, not since it was added.
          const since = next ? Math.max(next.timestamp + (next.opts.delay ?? 0), next.processedOn ?? 0) : now;
          return { queue: queue.name, text, workers, oldestSeconds: Math.max(0, now - since) / 1_000 };
        }),
      ),
      Promise.all(
        providers.map((provider) => new CircuitBreaker({ redis: valkey, provider, keyPrefix }).snapshot(now)),
      ),
    ]);
    const [perQueue, breakers] = await withDeadline(
      read,
      QUEUE_STATE_BUDGET_MS,
      () => new Error(`no answer within ${QUEUE_STATE_BUDGET_MS} ms`),
    );
    resetQueueState(target);
    for (const { queue, workers, oldestSeconds } of perQueue) {
      target.queueWorkers.set({ queue }, workers);
      target.queueOldestWaitingSeconds.set({ queue }, oldestSeconds);
    }
    for (const { provider, state } of breakers) target.breakerOpen.set({ provider }, state === 'closed' ? 0 : 1);
    target.queueStateUp.set(1);
    return mergeFamilies(perQueue.map(({ text }) => text));
  } catch (error) {
    // Stale gauges would read as a live answer; without them the alerts on them stay silent and
    // signup_queue_state_up says why.
    resetQueueState(target);
    target.queueStateUp.set(0);
    log?.warn('metrics: could not read the queues', { error: error instanceof Error ? error.message : String(error) });
    return '';
  }
}

/** The outbox read shares the scrape's budget with the queues' (they run side by side). */
const OUTBOX_STATE_BUDGET_MS = 2_000;

/**
 * The outbox's due, undispatched rows: how many, and how long the oldest has waited since it fell
 * due, the age the admin's health page shows too. Rows scheduled for later (the follow-up email,
 * days ahead) are not a backlog. One statement over the (dispatched_at, available_at) index; on
 * failure the gauges are left out, not stale, and the alert on them stays silent rather than wrong.
 */
export async function collectOutboxState(target: Metrics, { db, log }: OutboxStateSources): Promise<void> {
  try {
    const [row] = await withDeadline(
      query<{ pending: string; oldest_seconds: number | null }>(db, sql`
        SELECT count(*) AS pending, extract(epoch FROM now() - min(available_at))::float8 AS oldest_seconds
          FROM outbox_messages
         WHERE dispatched_at IS NULL AND available_at <= now()`),
      OUTBOX_STATE_BUDGET_MS,
      () => new Error(`no answer within ${OUTBOX_STATE_BUDGET_MS} ms`),
    );
    target.outboxPendingRows.set(Number(row?.pending ?? 0));
    target.outboxOldestPendingAgeSeconds.set(Math.max(0, row?.oldest_seconds ?? 0));
  } catch (error) {
    target.outboxPendingRows.remove();
    target.outboxOldestPendingAgeSeconds.remove();
    log?.warn('metrics: could not read the outbox', { error: errorSummary(error) });
  }
}

function resetQueueState(target: Metrics): void {
  target.queueWorkers.reset();
  target.queueOldestWaitingSeconds.reset();
  target.breakerOpen.reset();
}

/**
 * Joins per-queue expositions into one: each family's HELP and TYPE once, then all its samples, as
 * the text format requires (each queue's export repeats them).
 */
function mergeFamilies(texts: string[]): string {
  const families = new Map<string, { header: string[]; samples: string[] }>();
  const family = (name: string) => {
    const existing = families.get(name);
    if (existing) return existing;
    const created: { header: string[]; samples: string[] } = { header: [], samples: [] };
    families.set(name, created);
    return created;
  };
  for (const line of texts.flatMap((text) => text.split('\n'))) {
    const comment = /^# (HELP|TYPE) (\S+)/.exec(line);
    if (comment?.[2]) {
      const entry = family(comment[2]);
      if (!entry.header.some((existing) => existing.startsWith(`# ${comment[1]} `))) entry.header.push(line);
      continue;
    }
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    // BullMQ writes `{queue="email", state="waiting"}`; the canonical form has no blank after the comma.
    if (name) family(name).samples.push(line.replace(/", (?=[a-zA-Z_]\w*=")/g, '",'));
  }
  return [...families.values()].flatMap(({ header, samples }) => [...header, ...samples]).join('\n');
}
