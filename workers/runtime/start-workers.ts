// Starts one BullMQ Worker per queue this process serves (WORKER_QUEUES), so each queue can run in
// its own process and scale out on its own.
//
// The reaper is BullMQ's lock: a worker holds a lock on each running job and renews it every
// lockDuration / 2. A worker that crashes or hangs stops renewing; after lockDuration the lock
// expires, and the next stalled-job check (every stalledInterval, run by any live worker) puts the
// job back in the queue. A job that stalls more than maxStalledCount times is failed and
// dead-lettered instead of crashing worker after worker.
//
// Stopping: running jobs get until the shutdown deadline to finish; then their attempts are aborted
// (worker.cancelAllJobs) and handed back to the queue without spending an attempt. An admin's cancel
// request reaches the process running the job over pub/sub (job-cancellation.ts).
import { MetricsTime, Queue, Worker, type Processor } from 'bullmq';
import type { Valkey } from '@/lib/valkey';
import { childProcessEnv, type Config, type QueueName } from '@/lib/config';
import type { Logger } from '@/lib/log';
import { observeAttempt } from '@/lib/metrics';
import { queuePrefix } from '@/lib/queues';
import type { Pool } from '@/lib/sql';
import { queueTelemetry } from '@/lib/tracing';
import { isConnectionError } from '@/lib/valkey';
import { closeWithGrace, settlesWithin } from '@/lib/deadline';
import { recordFailuresOf } from '@/workers/runtime/dead-letter-recorder';
import { createHandlerContext } from '@/workers/jobs/handler-context';
import { processJob } from '@/workers/runtime/process-job';
import { inTenantPlace, tenantGateFor } from '@/workers/runtime/tenant-gate';
import { listenForCancellations, SHUTDOWN_ABORT, type CancellationListener } from '@/workers/runtime/job-cancellation';
import type { BatchedBreaker } from '@/workers/resilience/batched-breaker';
import { providerBreaker } from '@/workers/resilience/provider-breaker';
import { QUEUE_LIMITERS, type QueueLimiter } from '@/lib/queues';
import { backoffDelayMs, RETRY_POLICIES } from '@/workers/resilience/retry-policy';

export interface QueueRuntime {
  /** Jobs in flight per worker process. */
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  /** BullMQ's limiter (lib/queues.ts). */
  limiter: QueueLimiter;
}

/**
 * Per queue. Email and analytics are light network calls; the CRM is the slowest API we call;
 * avatar rendering is CPU-bound, so one per core (these machines have two). Locks are renewed
 * while a job runs however long it takes, so lockDuration bounds only how long a crashed worker's
 * jobs sit unnoticed: 15 s plus a 5 s check brings them back within ~20 s, and 15 s is far longer
 * than any pause of a worker's event loop (CPU work runs in the avatar sandbox). A job that stalls
 * twice is probably what kills its worker (an avatar that exhausts memory): it is failed rather
 * than handed to a third victim. Network jobs get one more chance, since a deploy can kill two
 * workers in a row.
 */
export const QUEUE_RUNTIME: Readonly<Record<QueueName, QueueRuntime>> = {
  email: { concurrency: 20, lockDurationMs: 15_000, stalledIntervalMs: 5_000, maxStalledCount: 3, limiter: QUEUE_LIMITERS.email },
  crm: { concurrency: 5, lockDurationMs: 15_000, stalledIntervalMs: 5_000, maxStalledCount: 3, limiter: QUEUE_LIMITERS.crm },
  avatar: { concurrency: 2, lockDurationMs: 15_000, stalledIntervalMs: 5_000, maxStalledCount: 2, limiter: QUEUE_LIMITERS.avatar },
  analytics: { concurrency: 20, lockDurationMs: 15_000, stalledIntervalMs: 5_000, maxStalledCount: 3, limiter: QUEUE_LIMITERS.analytics },
};

/**
 * Bundled, this module is part of dist/workers.js and the sandbox is dist/avatar-sandbox.js beside it
 * (scripts/bundle.ts), run by plain node; from source (tests, `npm run dev`) it is the TypeScript file,
 * run through tsx.
 */
const BUNDLED = !import.meta.url.endsWith('.ts');
const SANDBOXED_PROCESSORS: Partial<Record<QueueName, URL>> = {
  avatar: BUNDLED
    ? new URL('./avatar-sandbox.js', import.meta.url)
    : new URL('../jobs/avatar/generate-avatar.sandbox.ts', import.meta.url),
};
const SANDBOX_EXEC_ARGV = BUNDLED ? [] : ['--import', 'tsx'];

/**
 * After the shutdown deadline, how long aborted attempts get to hand their jobs back: an aborted
 * provider call ends at once, and the hand-back is one script; a sandbox child still starting up
 * takes longer. Short enough that this, the breakers' and the queues' second each fit in the 5 s
 * net workers/main.ts keeps over the deadline.
 */
const HAND_BACK_GRACE_MS = 2_000;

export interface RunningWorkers {
  workers: Worker[];
  /** Listens for the admin's cancel requests; settled once subscribed. */
  cancellations: CancellationListener;
  /**
   * Stops taking jobs and waits for running ones, at most `deadlineMs`; then aborts them and hands
   * them back to the queue, and abandons to the stalled-job check any that cannot be handed back.
   */
  close(deadlineMs: number): Promise<void>;
}

export function startWorkers({
  config,
  pool,
  connection,
  log,
  concurrency = {},
  limiters = {},
  backoff = {},
}: {
  config: Config;
  pool: Pool;
  connection: Valkey;
  log: Logger;
  concurrency?: Partial<Record<QueueName, number>>;
  /** Replaces QUEUE_LIMITERS, for benchmarks that lift the providers' rate limits too. */
  limiters?: Partial<Record<QueueName, QueueLimiter>>;
  /**
   * Replaces the queue's retry delay (retry-policy.ts), for benchmarks that compare retry policies
   * (e.g. `() => 0`: immediate retries). The jobs' `attempts` still decide when retries stop.
   */
  backoff?: Partial<Record<QueueName, (attemptsMade: number) => number>>;
}): RunningWorkers {
  const context = createHandlerContext(config, pool);
  const queues: Queue[] = [];
  const breakers: BatchedBreaker[] = [];

  const telemetry = queueTelemetry();
  const workers = config.workerQueues.map((name) => {
    const prefix = queuePrefix(config.queuePrefix, name);
    const queue = new Queue(name, { connection, prefix });
    queue.on('error', () => undefined);
    queues.push(queue);
    const breaker = config.circuitBreakers ? providerBreaker(name, config, connection, log) : undefined;
    if (breaker) breakers.push(breaker);
    const runtime = QUEUE_RUNTIME[name];
    const retryDelayMs = backoff[name] ?? ((attemptsMade: number) => backoffDelayMs(attemptsMade, RETRY_POLICIES[name]));

    const sandbox = SANDBOXED_PROCESSORS[name];
    const tenantGate = tenantGateFor(queue, { config, connection, log });
    const inProcess: Processor = (job, token, signal) =>
      inTenantPlace(
        tenantGate,
        job,
        (untilMs) => job.moveToDelayed(untilMs, token),
        () => processJob(job, context, { rateLimit: (ms) => queue.rateLimit(ms), breaker, signal, handBack: () => job.moveToDelayed(Date.now(), token) }),
      );

    const worker = new Worker(name, sandbox ?? inProcess, {
      connection,
      prefix,
      // Continues the trace the producer started: the job span joins the signup's trace.
      telemetry,
      concurrency: concurrency[name] ?? runtime.concurrency,
      lockDuration: config.lockOverrides.lockDurationMs ?? runtime.lockDurationMs,
      stalledInterval: config.lockOverrides.stalledIntervalMs ?? runtime.stalledIntervalMs,
      maxStalledCount: runtime.maxStalledCount,
      limiter: limiters[name] ?? runtime.limiter,
      // Completed and failed counts per minute, kept for a day: the admin's throughput chart.
      metrics: { maxDataPoints: MetricsTime.ONE_HOUR * 24 },
      settings: { backoffStrategy: retryDelayMs },
      // The child rebuilds this process's config from the environment it is given.
      workerForkOptions: { execArgv: SANDBOX_EXEC_ARGV, env: childProcessEnv(config) },
    });
    worker.on('completed', (job, outcome: { status?: string } | undefined) => {
      observeAttempt(name, job, 'completed');
      log.debug('job completed', { queue: name, job: job.name, id: job.id, outcome: outcome?.status });
    });
    worker.on('failed', (job, error) => {
      if (job) observeAttempt(name, job, job.finishedOn ? 'failed' : 'retrying');
      log.warn(job?.finishedOn ? 'job dead-lettered' : 'job failed; will retry', {
        queue: name,
        job: job?.name,
        id: job?.id,
        attempt: job?.attemptsMade,
        of: job?.opts.attempts,
        error: error.message,
      });
    });
    worker.on('error', (error) => {
      if (!isConnectionError(error)) log.error('worker error', { queue: name, error: error.message });
    });
    recordFailuresOf(worker, queue, { pool, log });
    return worker;
  });
  const cancellations = listenForCancellations({
    connection,
    basePrefix: config.queuePrefix,
    workers: new Map(config.workerQueues.map((name, index) => [name, workers[index] as Worker])),
    log,
  });

  return {
    workers,
    cancellations,
    async close(deadlineMs) {
      cancellations.close();
      // worker.close() waits forever while Valkey is gone, hence the deadlines; jobs that could not
      // be handed back keep their locks until they expire, and another worker picks them up.
      const closing = Promise.all(workers.map((worker) => worker.close()));
      if (!(await settlesWithin(closing, deadlineMs))) {
        for (const worker of workers) worker.cancelAllJobs(SHUTDOWN_ABORT);
        const handedBack = await settlesWithin(closing, HAND_BACK_GRACE_MS);
        log.warn(
          handedBack
            ? 'shutdown deadline passed; running jobs handed back to the queue'
            : 'shutdown deadline passed; abandoning running jobs to the stalled-job check',
          { deadlineMs },
        );
      }
      // The breakers' last gathered results, then the queues.
      await closeWithGrace({ close: () => Promise.all(breakers.map((breaker) => breaker.close())) }, { graceMs: 1_000 });
      await closeWithGrace({ close: () => Promise.all(queues.map((queue) => queue.close())) }, { graceMs: 1_000 });
    },
  };
}
