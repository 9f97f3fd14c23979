// What the admin page knows about the queues, and its verdict. The one module through which the
// admin reads queue state: BullMQ's public getters, the breakers' own snapshot, and PostgreSQL for
// dead letters and the outbox; never a Valkey key by name (like Sidekiq's Web UI).
//
// The verdict's rules and their thresholds are in health-rules.ts; the report's shape in
// health-report.ts.
//
// Cheap enough to poll every 2 s with 100,000 jobs queued: per queue, one counting script (LLEN and
// ZCARD), the two metrics lists' 60 newest points, the ids of the 100 newest completed jobs and their
// hashes, the single oldest waiting job, the paused flag, the worker count (CLIENT LIST) and the
// breaker's snapshot, the five tenants holding most jobs back. That is ~11 commands plus one HGETALL per sampled job, whatever the queue's
// length (bench/queue-health-refresh.ts measures it). Two aggregate queries cover the database.
import 'server-only';
import type { Job, Metrics, Queue } from 'bullmq';
import type { Db } from '@/lib/db';
import { QUEUE_NAMES, QUEUE_PROVIDERS, type QueueName, type QueueSet } from '@/lib/queues';
import { isConnectionError } from '@/lib/valkey';
import { withDeadline } from '@/lib/deadline';
import { topHeldTenantsOf } from '@/lib/tenant-limits';
import type { LatencySummary, QueueHealth, QueueHealthReport } from '@/app/_admin/queue-health/health-report';
import {
  HEALTH_LIMITS,
  judge,
  QUEUE_RULES,
  REPORT_RULES,
  verdictOf,
  type Finding,
  type QueueFacts,
  type ReportFacts,
} from '@/app/_admin/queue-health/health-rules';

export type { LatencySummary, QueueHealth, QueueHealthReport, Verdict } from '@/app/_admin/queue-health/health-report';
export { HEALTH_LIMITS } from '@/app/_admin/queue-health/health-rules';
import type { BreakerSnapshot } from '@/lib/circuit-breaker';

export interface QueueHealthDeps {
  db: Db;
  queues: QueueSet;
  /** CircuitBreaker (lib/circuit-breaker.ts) or anything with its snapshot. */
  breakers: Readonly<Record<QueueName, { snapshot(now?: number): Promise<BreakerSnapshot> }>>;
}

/** Points per throughput series: one hour at BullMQ's fixed one-minute granularity. */
const THROUGHPUT_MINUTES = 60;
/** Newest completed jobs the latency percentiles are computed from: bounded cost per refresh. */
const LATENCY_SAMPLE = 100;
/** Tenants listed per queue: the few whose backlogs explain a queue's wait. */
const TOP_TENANTS = 5;
/** A refresh answers within one 2 s poll even if Valkey hangs rather than refuses. */
const VALKEY_DEADLINE_MS = 1_500;

export async function queueHealth(deps: QueueHealthDeps, now = Date.now()): Promise<QueueHealthReport> {
  const [valkey, deadLetters, outbox] = await Promise.all([
    readValkey(deps, now),
    readDeadLetters(deps.db),
    readOutbox(deps.db, now),
  ]);

  const reportFindings: Finding[] = [];
  const queues = QUEUE_NAMES.map((name): QueueHealth => {
    const facts: QueueFacts = {
      ...(valkey?.[name] ?? unknownQueueState(name)),
      deadLetters: deadLetters.get(name) ?? { unresolved: 0, oldestFailedAt: null },
    };
    const rules = valkey ? QUEUE_RULES : QUEUE_RULES.filter((rule) => rule.source === 'database');
    const findings = judge(rules, facts);
    reportFindings.push(...findings);
    if (!valkey) findings.unshift({ verdict: 'failing', reason: `${name}: state unknown, Valkey unreachable` });
    const { finishedInWindow: _finished, ...health } = facts;
    return { ...health, ...verdictOf(findings) };
  });

  const reportFacts: ReportFacts = { valkeyReachable: valkey !== undefined, outbox };
  reportFindings.unshift(...judge(REPORT_RULES, reportFacts));
  return { generatedAt: new Date(now).toISOString(), ...verdictOf(reportFindings), ...reportFacts, queues };
}

type ValkeyState = Omit<QueueFacts, 'deadLetters'>;

/** Every queue's Valkey-side state, or undefined when Valkey cannot be reached in time. */
async function readValkey(deps: QueueHealthDeps, now: number): Promise<Record<QueueName, ValkeyState> | undefined> {
  const reads = (async () => {
    // BullMQ defines its scripts on the connection once a Queue has connected. ioredis's
    // auto-pipeline copies a connection's scripts when it starts a batch, so a breaker's EVALSHA
    // opening a batch before that would leave BullMQ's commands out of it: ioredis then throws
    // outside any promise and takes the process down. On a queue that is ready this costs nothing.
    await Promise.all(QUEUE_NAMES.map((name) => deps.queues[name].waitUntilReady()));
    return Promise.all(
      QUEUE_NAMES.map(async (name) => [name, await readQueue(name, deps.queues[name], deps.breakers[name], now)] as const),
    );
  })();
  const late = new Error(`no answer within ${VALKEY_DEADLINE_MS} ms`);
  try {
    return Object.fromEntries(await withDeadline(reads, VALKEY_DEADLINE_MS, () => late)) as Record<QueueName, ValkeyState>;
  } catch (error) {
    if (error === late || isValkeyUnreachable(error)) return undefined;
    throw error;
  }
}

async function readQueue(
  name: QueueName,
  queue: Queue,
  breaker: QueueHealthDeps['breakers'][QueueName],
  now: number,
): Promise<ValkeyState> {
  const [paused, counts, workers, completed, failed, recent, [oldest], snapshot, tenants] = await Promise.all([
    queue.isPaused(),
    queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'),
    queue.getWorkersCount(),
    queue.getMetrics('completed', 0, THROUGHPUT_MINUTES - 1),
    queue.getMetrics('failed', 0, THROUGHPUT_MINUTES - 1),
    newestCompleted(queue),
    // The wait list is pushed at the head and taken from the tail: index 0 in ascending order is
    // the job the next worker would take, the one that has waited longest.
    queue.getWaiting(0, 0),
    breaker.snapshot(now),
    topHeldTenantsOf(queue, TOP_TENANTS),
  ]);
  const completedPerMinute = perMinute(completed, now);
  const failedPerMinute = perMinute(failed, now);
  const window = -HEALTH_LIMITS.errorRateWindowMinutes;
  const completedInWindow = sum(completedPerMinute.slice(window));
  const failedInWindow = sum(failedPerMinute.slice(window));
  const finishedInWindow = completedInWindow + failedInWindow;
  const timed = recent.filter((job) => job.processedOn !== undefined && job.finishedOn !== undefined);
  return {
    name,
    paused,
    counts: {
      waiting: counts.waiting ?? 0,
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      prioritized: counts.prioritized ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
    },
    workers,
    throughput: { completedPerMinute, failedPerMinute },
    errorRate: finishedInWindow === 0 ? null : failedInWindow / finishedInWindow,
    finishedInWindow,
    waitMs: summarize(timed.map((job) => Math.max(0, (job.processedOn ?? 0) - readySince(job)))),
    processingMs: summarize(timed.map((job) => Math.max(0, (job.finishedOn ?? 0) - (job.processedOn ?? 0)))),
    oldestWaitingAgeMs: oldest ? Math.max(0, now - Math.max(readySince(oldest), oldest.processedOn ?? 0)) : null,
    breaker: {
      provider: snapshot.provider,
      state: snapshot.state,
      callsInWindow: snapshot.callsInWindow,
      failuresInWindow: snapshot.failuresInWindow,
      opens: snapshot.opens,
      closes: snapshot.closes,
    },
    tenants,
  };
}

/**
 * The newest completed jobs: the completed set is scored by finish time and read from the top.
 * getRanges and one HGETALL per job, issued together; getJobs would read every job hash twice (in
 * its script, then again per id).
 */
async function newestCompleted(queue: Queue): Promise<Job[]> {
  const ids = await queue.getRanges(['completed'], 0, LATENCY_SAMPLE - 1, false);
  const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
  // A job removed between the two reads (retention) is simply not in the sample.
  return jobs.filter((job): job is Job => job !== undefined);
}

/**
 * When the job became ready to run. A delay asked for (a replay's spacing) is not waiting. A job
 * back in the queue after an attempt (retry, stall, rate limit) has its latest attempt's start as
 * processedOn, which bounds its current wait from above; BullMQ records nothing closer.
 */
function readySince(job: Job): number {
  return job.timestamp + (job.opts.delay ?? 0);
}

/**
 * BullMQ's metrics as one count per minute, oldest first, ending with the current minute. BullMQ
 * writes a minute's point only when the first job of a later minute finishes: until then the count
 * since `prevTS` sits in the metadata (count − prevCount), and data[i] is the minute i + 1 before
 * prevTS's. Aligning on prevTS also places a queue that has been quiet for ten minutes correctly.
 */
function perMinute(metrics: Metrics, now: number): number[] {
  const series = new Array<number>(THROUGHPUT_MINUTES).fill(0);
  if (metrics.meta.prevTS <= 0) return series;
  const nowMinute = Math.floor(now / 60_000);
  // A worker's clock running ahead of ours must not push its counts off the end.
  const lastMinute = Math.min(Math.floor(metrics.meta.prevTS / 60_000), nowMinute);
  const place = (minute: number, count: number) => {
    const index = THROUGHPUT_MINUTES - 1 - (nowMinute - minute);
    if (index >= 0) series[index] = (series[index] ?? 0) + count;
  };
  place(lastMinute, Math.max(0, metrics.meta.count - metrics.meta.prevCount));
  metrics.data.forEach((count, i) => place(lastMinute - 1 - i, count));
  return series;
}

async function readDeadLetters(db: Db): Promise<Map<string, QueueHealth['deadLetters']>> {
  const groups = await db.deadLetter.groupBy({
    by: ['queue'],
    where: { resolution: null },
    _count: { _all: true },
    _min: { failedAt: true },
  });
  return new Map(
    groups.map((group) => [
      group.queue,
      { unresolved: group._count._all, oldestFailedAt: group._min.failedAt?.toISOString() ?? null },
    ]),
  );
}

async function readOutbox(db: Db, now: number): Promise<QueueHealthReport['outbox']> {
  // Due rows only, aged from when they fell due: work scheduled for later (the follow-up email)
  // is not a backlog.
  const pending = await db.outboxMessage.aggregate({
    where: { dispatchedAt: null, availableAt: { lte: new Date(now) } },
    _count: { _all: true },
    _min: { availableAt: true },
  });
  const oldest = pending._min.availableAt;
  return { pending: pending._count._all, oldestAgeMs: oldest ? Math.max(0, now - oldest.getTime()) : null };
}

function unknownQueueState(name: QueueName): ValkeyState {
  const provider = QUEUE_PROVIDERS[name];
  const zeros = () => new Array<number>(THROUGHPUT_MINUTES).fill(0);
  return {
    name,
    paused: false,
    counts: { waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: 0, failed: 0 },
    workers: 0,
    throughput: { completedPerMinute: zeros(), failedPerMinute: zeros() },
    errorRate: null,
    finishedInWindow: 0,
    waitMs: null,
    processingMs: null,
    oldestWaitingAgeMs: null,
    breaker: { provider, state: 'closed', callsInWindow: 0, failuresInWindow: 0, opens: 0, closes: 0 },
    tenants: [],
  };
}

/** Errors of a Valkey connection that is down or too slow, as opposed to bugs, which still throw. */
export function isValkeyUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    isConnectionError(error) ||
    /Connection is closed|enableOfflineQueue|Command timed out|connect ETIMEDOUT|ECONNREFUSED/i.test(error.message)
  );
}



/** Nearest-rank percentiles: each one is a latency that was actually observed. */
function summarize(values: number[]): LatencySummary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
  return { p50: rank(0.5), p95: rank(0.95), samples: sorted.length };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

