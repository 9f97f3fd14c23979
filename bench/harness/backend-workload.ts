// The workload the backends scenario runs on every backend: welcome-email jobs (the signup's most
// common job: its name, an id-only payload and its contract's options: retention, attempts,
// priority) processed by what a light handler does on the queue's side — parse the payload with
// the contract's schema and return a small result that the backend stores with the job — without
// calling a provider or PostgreSQL, so the numbers are the backend's and not a handler's.
//
// Retention is the one option varied. `kept` is the contract's: up to 10,000 completed jobs kept a
// day, trimmed at every completion. On Valkey that trim is a sorted-set range removal; BullMQ's
// PostgreSQL backend runs `DELETE … WHERE id NOT IN (SELECT … ORDER BY finished_at_ms DESC LIMIT
// 10000)` (apply_retention in its 0002_functions migration), whose cost grows with the completed
// jobs already kept. `removed` deletes each job when it completes (`removeOnComplete: true`), the
// setting a PostgreSQL deployment would pick.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendWelcomeEmail } from '@/workers/jobs/job-contracts';
import { summarize, type LatencySummary } from '@/bench/harness/stats';
import { addInChunks, completionTracker, withinDeadline } from '@/bench/harness/throughput';
import type { Processor, QueueBackend } from '@/bench/harness/queue-backends';

const CLOSE_DEADLINE_MS = 10_000;

const lightHandler: Processor = async (job) => {
  const { userId } = sendWelcomeEmail.payload.parse(job.data);
  return { status: 'applied', userId };
};

export type Retention = 'kept' | 'removed';

/** With the contract's own job id, as the outbox adds it: a custom id costs the backend a lookup. */
function welcomeJob(retention: Retention) {
  const data = { userId: randomUUID() };
  const opts = { ...sendWelcomeEmail.options, jobId: sendWelcomeEmail.jobId(data) };
  return { name: sendWelcomeEmail.name, data, opts: retention === 'kept' ? opts : { ...opts, removeOnComplete: true } };
}

export interface DrainResult {
  jobs: number;
  /** The jobs processed: all of them, unless the drain missed its deadline (DrainDeadlineError). */
  processed: number;
  concurrency: number;
  /** addBulk of the whole backlog in chunks, one chunk in flight. */
  enqueueMs: number;
  /** From the Worker's construction to its last completed job. */
  processMs: number;
}

/**
 * A drain that ran out of time, with how far it got: a backend too slow for the backlog is a
 * finding, and its figures up to the deadline are worth reporting.
 */
export class DrainDeadlineError extends Error {
  override name = 'DrainDeadlineError';

  constructor(
    readonly partial: DrainResult,
    deadlineMs: number,
  ) {
    const count = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });
    super(`${count(partial.processed)} of ${count(partial.jobs)} jobs processed within ${count(deadlineMs / 1_000)} s`);
  }
}

/** A backlog of `jobs` added in bulk, then drained by one Worker at `concurrency`. */
export async function drainBacklog(
  backend: QueueBackend,
  { jobs, concurrency, retention, deadlineMs }: { jobs: number; concurrency: number; retention: Retention; deadlineMs: number },
): Promise<DrainResult> {
  const name = `drain-${retention}-c${concurrency}`;
  const queue = backend.queue(name);
  try {
    const enqueueMs = await addInChunks(queue, Array.from({ length: jobs }, () => welcomeJob(retention)));
    const tracker = completionTracker({ [name]: jobs });
    const started = Date.now();
    const worker = backend.worker(name, lightHandler, concurrency);
    worker.on('error', () => undefined);
    worker.on('completed', () => tracker.completed(name));
    worker.on('failed', (job) => tracker.failed(name, Boolean(job?.finishedOn)));
    try {
      await tracker.finished(deadlineMs);
    } catch {
      // finished() rejects only at the deadline.
      const completed = tracker.tallies()[name]?.completed ?? 0;
      throw new DrainDeadlineError({ jobs, processed: completed, concurrency, enqueueMs, processMs: Date.now() - started }, deadlineMs);
    } finally {
      await withinDeadline(worker.close(), CLOSE_DEADLINE_MS);
    }
    const { lastEndAt = started, failed } = tracker.tallies()[name] ?? {};
    if (failed) throw new Error(`${failed} jobs failed on ${backend.name}`);
    return { jobs, processed: jobs, concurrency, enqueueMs, processMs: lastEndAt - started };
  } finally {
    await withinDeadline(queue.close(), CLOSE_DEADLINE_MS);
  }
}

export interface LatencyResult {
  offeredPerSecond: number;
  /** What the producer managed: below the offer when adds could not keep up. */
  achievedPerSecond: number;
  durationMs: number;
  concurrency: number;
  /** From just before `add` to the worker's completed event, after warm-up. */
  latency: LatencySummary;
  /** From just before `add` to its promise resolving (the job stored), after warm-up. */
  enqueue: LatencySummary;
}

/**
 * A fixed offered load: one `queue.add` per job, each sent when its turn comes (job i at i ÷ rate
 * seconds), as web requests would, not in bursts. The worker is up and idle before the first add,
 * so the figures include its wake-up: BZPOPMIN on Valkey and Redis, LISTEN/NOTIFY on PostgreSQL.
 * The first tenth of the run is warm-up and left out.
 */
export async function offeredLoad(
  backend: QueueBackend,
  {
    perSecond,
    durationMs,
    concurrency,
    retention,
    deadlineMs,
  }: { perSecond: number; durationMs: number; concurrency: number; retention: Retention; deadlineMs: number },
): Promise<LatencyResult> {
  const name = `offered-load-${retention}`;
  const total = Math.round((perSecond * durationMs) / 1_000);
  const queue = backend.queue(name);
  const worker = backend.worker(name, lightHandler, concurrency);
  try {
    worker.on('error', () => undefined);
    await worker.waitUntilReady();
    const tracker = completionTracker({ [name]: total });
    // performance.now() at both ends, by job id: job.timestamp has whole milliseconds only.
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    const enqueueLatencies: number[] = [];
    const started = performance.now();
    const warmUpEnds = started + durationMs / 10;
    worker.on('completed', (job) => {
      const at = job.id === undefined ? undefined : sentAt.get(job.id);
      if (at !== undefined && at >= warmUpEnds) latencies.push(performance.now() - at);
      tracker.completed(name);
    });
    worker.on('failed', (job) => tracker.failed(name, Boolean(job?.finishedOn)));
    const adds: Array<Promise<unknown>> = [];
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) * perSecond) / 1_000) + 1);
      for (; sent < due; sent += 1) {
        const { name: jobName, data, opts } = welcomeJob(retention);
        const at = performance.now();
        sentAt.set(opts.jobId, at);
        adds.push(
          queue.add(jobName, data, opts).then(() => {
            if (at >= warmUpEnds) enqueueLatencies.push(performance.now() - at);
          }),
        );
      }
      // Timers fire at best every millisecond: a job every 5 ms at 200/s is sent on time.
      await sleep(1);
    }
    const producedMs = performance.now() - started;
    await Promise.all(adds);
    await tracker.finished(deadlineMs);
    return {
      offeredPerSecond: perSecond,
      achievedPerSecond: (total * 1_000) / producedMs,
      durationMs,
      concurrency,
      latency: summarize(latencies),
      enqueue: summarize(enqueueLatencies),
    };
  } finally {
    await withinDeadline(worker.close(), CLOSE_DEADLINE_MS);
    await withinDeadline(queue.close(), CLOSE_DEADLINE_MS);
  }
}
