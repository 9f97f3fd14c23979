// Every Prometheus metric the app exports, defined once. Each process has one registry (metrics());
// tests build their own with createMetrics(). The web process serves its registry at GET
// /api/metrics together with the queues' state, read from Valkey at scrape time; each worker
// process serves its own on WORKER_METRICS_PORT (workers/runtime/metrics-server.ts). How a scrape
// is answered is in lib/metrics-scrape.ts.
//
// Labels carry only small fixed sets: queue and job names, providers, outcomes, status codes.
// Never a user id, an email or a job id: each new label value is a new time series, kept forever.
// Every counter has a series at 0 for each of its known label values from the start (the job
// names once declareJobSeries is given them), so the dashboard never shows "No data" for a quiet
// counter and increase() sees a counter's first event: a series first scraped at 1 has no earlier
// sample to rise from.
//
// The avatar queue's sandboxed processor runs in a child process whose registry nobody scrapes: the
// storage provider's call latency, its rate-limited attempts and the breaker transitions seen there
// are not exported. The parent still observes the avatar jobs' wait and processing times (from the
// Worker's events), and the breaker gauge is read from Valkey, so the storage breaker is covered.
import type { Job } from 'bullmq';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { QUEUE_NAMES, QUEUE_PROVIDERS } from '@/lib/queues';

// A worker picks a job up within milliseconds when idle; a backlog, an open breaker or a rate limit
// holds it for minutes. Up to an hour, so a queue that stopped draining still lands in a bucket.
const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
// An attempt is one or two provider calls plus a few queries: tens of milliseconds, seconds when a
// provider is slow, cut at the job's deadline (15 s analytics, 30 s email and CRM, 60 s avatar).
const PROCESSING_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60];
// One call: milliseconds against a healthy provider, up to PROVIDER_TIMEOUT_MS (10 s by default).
const PROVIDER_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];
// A signup answers in 5–70 ms when healthy; the database's 1.5 s budget bounds the 503s.
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2, 5];

// The label values each counter is created with. A value used elsewhere and missing here still
// counts; its series merely starts at its first event.
const RATE_LIMIT_REASONS = ['breaker_open', 'provider_rate_limited', 'tenant_concurrency', 'tenant_rate'] as const;
const CANCEL_REASONS = ['operator', 'shutdown'] as const;
// Every change lib/circuit-breaker.lua can make.
const BREAKER_TRANSITIONS = [
  ['closed', 'open'],
  ['open', 'half-open'],
  ['half-open', 'closed'],
  ['half-open', 'open'],
] as const;
const BREAKER_PROVIDERS = [...new Set(Object.values(QUEUE_PROVIDERS))];

export type JobOutcome = 'completed' | 'failed' | 'retrying';
export type ProviderOutcome = 'ok' | 'transient' | 'permanent' | 'rate_limited';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics() {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    jobWaitSeconds: new Histogram({
      name: 'signup_job_wait_seconds',
      help: 'From a job being added (after any delay it was added with) to the start of its first attempt, by how that attempt ended',
      labelNames: ['queue', 'job', 'outcome'] as const,
      buckets: WAIT_BUCKETS,
      registers,
    }),
    jobProcessingSeconds: new Histogram({
      name: 'signup_job_processing_seconds',
      help: 'Duration of one attempt; outcome completed, failed (for good: dead-lettered) or retrying',
      labelNames: ['queue', 'job', 'outcome'] as const,
      buckets: PROCESSING_BUCKETS,
      registers,
    }),
    providerCallSeconds: new Histogram({
      name: 'signup_provider_call_seconds',
      help: 'Duration of one call to a third party; outcome ok, transient, permanent or rate_limited',
      labelNames: ['provider', 'outcome'] as const,
      buckets: PROVIDER_BUCKETS,
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'signup_request_seconds',
      help: 'Duration of a signup request, by route and status code',
      labelNames: ['route', 'status'] as const,
      buckets: REQUEST_BUCKETS,
      registers,
    }),
    // This and the other counters labelled by job get their series from declareJobSeries.
    jobRetries: new Counter({
      name: 'signup_job_retries_total',
      help: 'Failed attempts that will be retried with backoff',
      labelNames: ['queue', 'job'] as const,
      registers,
    }),
    jobRateLimited: new Counter({
      name: 'signup_job_rate_limited_total',
      help: 'Attempts put back without spending an attempt; reason breaker_open, provider_rate_limited, tenant_concurrency or tenant_rate',
      labelNames: ['queue', 'job', 'reason'] as const,
      registers,
    }),
    jobsCancelled: withSeries(
      new Counter({
        name: 'signup_jobs_cancelled_total',
        help: 'Jobs stopped before they finished; reason operator (cancelled from the admin, for good) or shutdown (a running attempt handed back to the queue)',
        labelNames: ['queue', 'reason'] as const,
        registers,
      }),
      QUEUE_NAMES.flatMap((queue) => CANCEL_REASONS.map((reason) => ({ queue, reason }))),
    ),
    jobsDeduplicated: new Counter({
      name: 'signup_jobs_deduplicated_total',
      help: 'Adds BullMQ collapsed into the job queued or running under the same deduplication id instead of creating their own (docs/backpressure.md#job-ids-or-deduplication)',
      labelNames: ['queue', 'job'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: 'signup_dead_letters_total',
      help: 'Dead letters written to PostgreSQL for failed jobs (cancelled ones count in signup_jobs_cancelled_total)',
      labelNames: ['queue', 'job'] as const,
      registers,
    }),
    breakerTransitions: withSeries(
      new Counter({
        name: 'signup_breaker_transitions_total',
        help: 'Circuit breaker state changes this process caused',
        labelNames: ['provider', 'from', 'to'] as const,
        registers,
      }),
      BREAKER_PROVIDERS.flatMap((provider) => BREAKER_TRANSITIONS.map(([from, to]) => ({ provider, from, to }))),
    ),
    outboxDispatchFailures: withSeries(
      new Counter({
        name: 'signup_outbox_dispatch_failures_total',
        help: 'Failed attempts to move outbox rows into Valkey; path fast (the signup request) or relay',
        labelNames: ['path'] as const,
        registers,
      }),
      [{ path: 'fast' }, { path: 'relay' }],
    ),
    outboxMarksUnwritten: new Counter({
      name: 'signup_outbox_marks_unwritten_total',
      help: 'Outbox rows dispatched by the fast path whose dispatched mark could not be written; the relay sends them again under the same job ids',
      registers,
    }),
    analyticsEventsShed: new Counter({
      name: 'signup_analytics_events_shed_total',
      help: 'Signups saved without their analytics event because the analytics queue was over ANALYTICS_SHED_DEPTH',
      registers,
    }),
    adminLoginFailures: withSeries(
      new Counter({
        name: 'signup_admin_login_failures_total',
        help: 'Admin sign-ins refused, by the login form or Basic credentials; outcome wrong (judged wrong) or throttled (a budget was spent, so not judged)',
        labelNames: ['outcome'] as const,
        registers,
      }),
      [{ outcome: 'wrong' }, { outcome: 'throttled' }],
    ),
    rateBudgetFallbacks: new Counter({
      name: 'signup_rate_budget_fallbacks_total',
      help: 'Rate-limit decisions this process made from its own memory because Valkey did not answer in time (lib/rate-budgets.ts)',
      registers,
    }),
    reconcilerRepairs: withSeries(
      new Counter({
        name: 'signup_reconciler_repairs_total',
        help: 'Jobs the reconciler accounted for; kind reenqueued (Valkey lost it) or dead_letter_written',
        labelNames: ['kind'] as const,
        registers,
      }),
      [{ kind: 'reenqueued' }, { kind: 'dead_letter_written' }],
    ),
    queueOldestWaitingSeconds: new Gauge({
      name: 'signup_queue_oldest_waiting_seconds',
      help: 'Age of the job next in line in the wait list, since it was added or last started; 0 when none waits',
      labelNames: ['queue'] as const,
      registers,
    }),
    queueWorkers: new Gauge({
      name: 'signup_queue_workers',
      help: 'Workers connected to the queue, from Valkey CLIENT LIST',
      labelNames: ['queue'] as const,
      registers,
    }),
    // The web sets it at each scrape; a worker process, which never reads the queues, exports none
    // rather than a 0 that would read as "Valkey unreadable".
    queueStateUp: withoutSample(
      new Gauge({
        name: 'signup_queue_state_up',
        help: '1 when this scrape could read the queues and breakers from Valkey, else 0',
        registers,
      }),
    ),
    // Read by the web at scrape time (lib/metrics-scrape.ts); absent when PostgreSQL did not answer.
    outboxPendingRows: withoutSample(
      new Gauge({
        name: 'signup_outbox_pending_rows',
        help: 'Outbox rows that are due (available_at passed) and not yet dispatched to Valkey; rows scheduled for later are not counted',
        registers,
      }),
    ),
    outboxOldestPendingAgeSeconds: withoutSample(
      new Gauge({
        name: 'signup_outbox_oldest_pending_age_seconds',
        help: 'How long the oldest due, undispatched outbox row has waited since it fell due; 0 when none waits',
        registers,
      }),
    ),
    breakerOpen: new Gauge({
      name: 'signup_breaker_open',
      help: '1 while the provider breaker is not closed (open, or half-open waiting on its probe)',
      labelNames: ['provider'] as const,
      registers,
    }),
  };
}

/** `counter` with a series at 0 for each of `labels`. */
function withSeries<T extends string>(counter: Counter<T>, labels: Array<Record<T, string>>): Counter<T> {
  for (const set of labels) counter.inc(set, 0);
  return counter;
}

/** An unlabelled gauge exports nothing until it is first set, instead of prom-client's 0. */
function withoutSample(gauge: Gauge): Gauge {
  gauge.remove();
  return gauge;
}

/**
 * Creates the series at 0 of the counters labelled by queue and job, for these jobs (the contracts,
 * which stand above lib/). Whoever serves a registry calls it before its first scrape, which is as
 * good as at creation, since nothing reads a registry before that; a series that exists already
 * keeps its value.
 */
export function declareJobSeries(target: Metrics, jobs: ReadonlyArray<{ queue: string; name: string }>): void {
  for (const { queue, name: job } of jobs) {
    for (const counter of [target.jobRetries, target.deadLetters, target.jobsDeduplicated]) counter.inc({ queue, job }, 0);
    for (const reason of RATE_LIMIT_REASONS) target.jobRateLimited.inc({ queue, job, reason }, 0);
  }
}

// On globalThis, so Next's dev reloads and every route module that imports this share one registry:
// the signup route must observe into the registry /api/metrics serves.
const holder = globalThis as typeof globalThis & { __signupMetrics?: Metrics };

/** This process's metrics, created on first use. */
export function metrics(): Metrics {
  holder.__signupMetrics ??= createMetrics();
  return holder.__signupMetrics;
}

/**
 * Records an attempt a Worker has just finished, from BullMQ's own timestamps. Wait is observed for
 * first attempts only: a retried job re-enters the queue when its backoff ends, a moment BullMQ does
 * not record, so its wait would mostly measure the backoff. Time spent put back by a rate limit or
 * an open breaker is real waiting and is included.
 */
export function observeAttempt(
  queue: string,
  job: Pick<Job, 'name' | 'timestamp' | 'processedOn' | 'finishedOn' | 'attemptsMade' | 'opts'>,
  outcome: JobOutcome,
  now = Date.now(),
): void {
  const target = metrics();
  const labels = { queue, job: job.name, outcome };
  if (outcome === 'retrying') target.jobRetries.inc({ queue, job: job.name });
  if (job.processedOn === undefined) return;
  if (job.attemptsMade <= 1) {
    target.jobWaitSeconds.observe(labels, Math.max(0, job.processedOn - job.timestamp - (job.opts.delay ?? 0)) / 1_000);
  }
  target.jobProcessingSeconds.observe(labels, Math.max(0, (job.finishedOn ?? now) - job.processedOn) / 1_000);
}
