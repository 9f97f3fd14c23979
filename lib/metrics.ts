// Every Prometheus metric the app exports, defined once. Each process has one registry (metrics());
// tests build their own with createMetrics(). The web process serves its registry at GET
// /api/metrics together with the queues' state, read from Valkey at scrape time; each worker
// process serves its own on WORKER_METRICS_PORT (workers/runtime/metrics-server.ts). How a scrape
// is answered is in lib/metrics-scrape.ts.
//
// Labels carry only small fixed sets: queue and job names, providers, outcomes, status codes.
// Never a user id, an email or a job id: each new label value is a new time series, kept forever.
//
// The avatar queue's sandboxed processor runs in a child process whose registry nobody scrapes: the
// storage provider's call latency, its rate-limited attempts and the breaker transitions seen there
// are not exported. The parent still observes the avatar jobs' wait and processing times (from the
// Worker's events), and the breaker gauge is read from Valkey, so the storage breaker is covered.
import type { Job } from 'bullmq';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

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
    jobRetries: new Counter({
      name: 'signup_job_retries_total',
      help: 'Failed attempts that will be retried with backoff',
      labelNames: ['queue', 'job'] as const,
      registers,
    }),
    jobRateLimited: new Counter({
      name: 'signup_job_rate_limited_total',
      help: 'Attempts put back to wait without spending an attempt; reason breaker_open or provider_rate_limited',
      labelNames: ['queue', 'job', 'reason'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: 'signup_dead_letters_total',
      help: 'Dead letters written to PostgreSQL',
      labelNames: ['queue', 'job'] as const,
      registers,
    }),
    breakerTransitions: new Counter({
      name: 'signup_breaker_transitions_total',
      help: 'Circuit breaker state changes this process caused',
      labelNames: ['provider', 'from', 'to'] as const,
      registers,
    }),
    outboxDispatchFailures: new Counter({
      name: 'signup_outbox_dispatch_failures_total',
      help: 'Failed attempts to move outbox rows into Valkey; path fast (the signup request) or relay',
      labelNames: ['path'] as const,
      registers,
    }),
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
    reconcilerRepairs: new Counter({
      name: 'signup_reconciler_repairs_total',
      help: 'Jobs the reconciler accounted for; kind reenqueued (Valkey lost it) or dead_letter_written',
      labelNames: ['kind'] as const,
      registers,
    }),
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
    queueStateUp: new Gauge({
      name: 'signup_queue_state_up',
      help: '1 when this scrape could read the queues and breakers from Valkey, else 0',
      registers,
    }),
    breakerOpen: new Gauge({
      name: 'signup_breaker_open',
      help: '1 while the provider breaker is not closed (open, or half-open waiting on its probe)',
      labelNames: ['provider'] as const,
      registers,
    }),
  };
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
