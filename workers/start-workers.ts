// Starts one BullMQ Worker per queue this process serves (WORKER_QUEUES), so each queue can run in
// its own process and scale out on its own. A job a crashed or hung worker abandons comes back:
// its lock expires and BullMQ's stalled-job check returns it to the queue for another worker.
import { Worker, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import { childProcessEnv, type Config, type QueueName } from '@/lib/config';
import type { Db } from '@/lib/db';
import type { Logger } from '@/lib/log';
import { queuePrefix } from '@/lib/queues';
import { isConnectionError } from '@/lib/valkey';
import { createHandlerContext } from '@/workers/handler-context';
import { processJob } from '@/workers/process-job';

/**
 * Jobs in flight per worker process. Email and analytics are light network calls; the CRM is the
 * slowest API we call; avatar rendering is CPU-bound, so one per core (these machines have two).
 */
export const DEFAULT_CONCURRENCY: Readonly<Record<QueueName, number>> = {
  email: 20,
  crm: 5,
  avatar: 2,
  analytics: 20,
};

const SANDBOXED_PROCESSORS: Partial<Record<QueueName, URL>> = {
  avatar: new URL('./avatar/generate-avatar.sandbox.ts', import.meta.url),
};

export interface RunningWorkers {
  workers: Worker[];
  /** Stops taking jobs and waits for running ones, at most `deadlineMs`, then abandons them. */
  close(deadlineMs: number): Promise<void>;
}

export function startWorkers({
  config,
  db,
  connection,
  log,
  concurrency = {},
}: {
  config: Config;
  db: Db;
  connection: Redis;
  log: Logger;
  concurrency?: Partial<Record<QueueName, number>>;
}): RunningWorkers {
  const context = createHandlerContext(config, db);
  const inProcess: Processor = (job, _token, signal) => processJob(job, { ...context, signal });

  const workers = config.workerQueues.map((queue) => {
    const sandbox = SANDBOXED_PROCESSORS[queue];
    const worker = new Worker(queue, sandbox ?? inProcess, {
      connection,
      prefix: queuePrefix(config.queuePrefix, queue),
      concurrency: concurrency[queue] ?? DEFAULT_CONCURRENCY[queue],
      // tsx loads the TypeScript processor in the child; the child rebuilds this process's config.
      workerForkOptions: { execArgv: ['--import', 'tsx'], env: childProcessEnv(config) },
    });
    worker.on('completed', (job, outcome: { status?: string } | undefined) =>
      log.info('job completed', { queue, job: job.name, id: job.id, outcome: outcome?.status }),
    );
    worker.on('failed', (job, error) =>
      log.warn('job failed', {
        queue,
        job: job?.name,
        id: job?.id,
        attempt: job?.attemptsMade,
        of: job?.opts.attempts,
        error: error.message,
      }),
    );
    worker.on('error', (error) => {
      if (!isConnectionError(error)) log.error('worker error', { queue, error: error.message });
    });
    return worker;
  });

  return {
    workers,
    async close(deadlineMs) {
      // worker.close() waits forever if Valkey is gone (ENVIRONMENT.md), hence the deadline; the
      // abandoned jobs' locks expire and another worker picks them up.
      const graceful = Promise.all(workers.map((worker) => worker.close()));
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), deadlineMs).unref()),
      ]);
      if (timedOut) {
        log.warn('shutdown deadline passed; abandoning running jobs to the stalled-job check', { deadlineMs });
        await Promise.race([
          Promise.all(workers.map((worker) => worker.close(true))),
          new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
        ]);
      }
    },
  };
}

