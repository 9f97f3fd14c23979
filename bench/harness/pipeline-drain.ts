// The two sides of the pipeline-throughput scenario, each on a fresh prefix of the same server: a
// backlog of signups' jobs drained by our real workers, and the same number of jobs with the same
// options drained by plain BullMQ Workers whose processor does nothing.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config, QueueName } from '@/lib/config';
import { createPool } from '@/lib/sql';
import { closeQueueSet, createQueueSet, queuePrefix } from '@/lib/queues';
import { createProducerConnection, createWorkerConnection } from '@/lib/valkey';
import { createSignup } from '@/app/_signup/create-signup';
import { SIGNUP_JOBS } from '@/workers/jobs/job-contracts';
import { QUEUE_RUNTIME, startWorkers } from '@/workers/runtime/start-workers';
import {
  addInChunks,
  completionTracker,
  inParallel,
  LIFTED_LIMITER,
  silentLog,
  withinDeadline,
  type QueueTally,
} from '@/bench/harness/throughput';

/** Signups saved at once: about what the web process's pool serves, and no producer timeouts. */
const SIGNUP_PARALLELISM = 10;

/** Workers get this long to finish running jobs when a pass ends (start-workers.ts's close). */
const CLOSE_DEADLINE_MS = 10_000;

export interface Drain {
  /** Jobs put in the backlog, per served queue. */
  jobs: Record<string, number>;
  /** Time to build the backlog: createSignup for ours, addBulk for the no-op side. */
  enqueueMs: number;
  /** From the workers' start to the last job's end, per queue and overall. */
  drainMs: Record<string, number>;
  totalDrainMs: number;
  /**
   * CPU this process spent while draining (user + system): the workers, BullMQ's client and the
   * in-process mock providers; not the sandboxed avatar renders, Valkey or PostgreSQL.
   */
  cpuMs: number;
  tallies: Record<string, QueueTally>;
}

export interface DrainTarget {
  url: string;
  /** Queues served in this pass; the others' jobs, if any, are left waiting. */
  served: readonly QueueName[];
  /** Signups for ours; jobs per queue for the no-op side. */
  count: number;
  deadlineMs: number;
  progress(line: string): void;
}

/** Our side: the real producer fills the queues, then startWorkers drains them with real handlers. */
export async function drainOurs(base: Config, target: DrainTarget): Promise<Drain> {
  const prefix = `ours-${randomUUID().slice(0, 8)}`;
  const config: Config = { ...base, queuePrefix: prefix, workerQueues: [...target.served] };
  // The worker process's own pool, as in production: the producer's pool stays the web's.
  const workerPool = createPool(config.databaseUrl, { maxConnections: config.databasePoolSize });
  const connection = createWorkerConnection(target.url);
  try {
    const { dispatched, enqueueMs } = await enqueueSignups({
      url: target.url,
      databaseUrl: config.databaseUrl,
      prefix,
      count: target.count,
    });
    if (dispatched < target.count) target.progress(`${target.count - dispatched} signups were left to the outbox (not counted)`);
    target.progress(`ours: ${dispatched} signups saved and dispatched in ${(enqueueMs / 1_000).toFixed(1)} s; workers start`);

    const expected = Object.fromEntries(target.served.map((queue) => [queue, dispatched]));
    const tracker = completionTracker(expected);
    const workersStarted = Date.now();
    const cpuAtStart = process.cpuUsage();
    const running = startWorkers({
      config,
      pool: workerPool,
      connection,
      log: silentLog,
      limiters: Object.fromEntries(target.served.map((queue) => [queue, LIFTED_LIMITER])),
    });
    for (const worker of running.workers) {
      worker.on('completed', () => tracker.completed(worker.name));
      worker.on('failed', (job) => tracker.failed(worker.name, Boolean(job?.finishedOn)));
    }
    try {
      await tracker.finished(target.deadlineMs);
      return drainOf(expected, enqueueMs, workersStarted, cpuAtStart, tracker.tallies());
    } finally {
      await running.close(CLOSE_DEADLINE_MS);
    }
  } finally {
    connection.disconnect();
    await workerPool.end();
  }
}

/**
 * The web's side of a backlog: `count` signups through the real producer (createSignup: the user
 * and its outbox rows in one transaction, then the four jobs to Valkey) on `prefix`, a few at a
 * time, or paced. Jobs added to a paused queue wait there, which is how capacity.ts holds a
 * backlog back until its worker processes are up.
 */
export async function enqueueSignups({
  url,
  databaseUrl,
  prefix,
  count,
  perSecond,
}: {
  url: string;
  databaseUrl: string;
  prefix: string;
  count: number;
  /** Paced at this rate, signup n starting n ÷ rate seconds in; as fast as they go when unset. */
  perSecond?: number;
}): Promise<{ dispatched: number; enqueueMs: number }> {
  const producer = createProducerConnection(url);
  const queues = createQueueSet(producer, prefix);
  const pool = createPool(databaseUrl, { maxConnections: SIGNUP_PARALLELISM });
  try {
    // The producer fails fast while disconnected (lib/valkey.ts): let it connect first.
    if (producer.status !== 'ready') await once(producer, 'ready');
    const started = performance.now();
    let dispatched = 0;
    // Addresses unique to this call: a second backlog on the same prefix must not be duplicates.
    const batch = randomUUID().slice(0, 8);
    const indexes = Array.from({ length: count }, (_, index) => index);
    await inParallel(indexes, SIGNUP_PARALLELISM, async (index) => {
      if (perSecond) await sleep(Math.max(0, started + (index * 1_000) / perSecond - performance.now()));
      const outcome = await createSignup(
        { name: `Bench User ${index}`, email: `${prefix}-${batch}-${index}@example.test`, workspace: 'bench' },
        // Three days, as in production: the follow-up stays in PostgreSQL's outbox, not in Valkey.
        { pool, queues, followUpDelayMs: 3 * 24 * 60 * 60 * 1_000 },
      );
      if (outcome.status === 'created' && outcome.dispatched) dispatched += 1;
    });
    return { dispatched, enqueueMs: performance.now() - started };
  } finally {
    await closeQueueSet(queues);
    producer.disconnect();
    await pool.end();
  }
}

/**
 * BullMQ alone: addBulk fills the same queues with the same number of jobs carrying the same names,
 * payload shape and options (retention, attempts, priority), then a plain Worker per queue at our
 * concurrency runs `async () => undefined`.
 */
export async function drainNoOp(target: DrainTarget): Promise<Drain> {
  const prefix = `noop-${randomUUID().slice(0, 8)}`;
  const connection = new Redis(target.url, { maxRetriesPerRequest: null });
  const queues = target.served.map((name) => {
    const queue = new Queue(name, { connection, prefix: queuePrefix(prefix, name) });
    queue.on('error', () => undefined);
    return queue;
  });
  const workers: Worker[] = [];
  try {
    let enqueueMs = 0;
    for (const queue of queues) enqueueMs += await addInChunks(queue, noOpJobs(queue.name, target.count));
    target.progress(`no-op: ${target.count * queues.length} jobs added in ${(enqueueMs / 1_000).toFixed(1)} s; workers start`);

    const expected = Object.fromEntries(target.served.map((queue) => [queue, target.count]));
    const tracker = completionTracker(expected);
    const workersStarted = Date.now();
    const cpuAtStart = process.cpuUsage();
    for (const name of target.served) {
      const worker = new Worker(name, async () => undefined, {
        connection,
        prefix: queuePrefix(prefix, name),
        concurrency: QUEUE_RUNTIME[name].concurrency,
      });
      worker.on('error', () => undefined);
      worker.on('completed', () => tracker.completed(name));
      worker.on('failed', (job) => tracker.failed(name, Boolean(job?.finishedOn)));
      workers.push(worker);
    }
    await tracker.finished(target.deadlineMs);
    return drainOf(expected, enqueueMs, workersStarted, cpuAtStart, tracker.tallies());
  } finally {
    await withinDeadline(Promise.all(workers.map((worker) => worker.close())), CLOSE_DEADLINE_MS);
    await withinDeadline(Promise.all(queues.map((queue) => queue.close())), CLOSE_DEADLINE_MS);
    connection.disconnect();
  }
}

/** Jobs shaped like the signup's job on `queue`: its name, an id-only payload, its options. */
export function noOpJobs(queue: string, count: number) {
  const contract = SIGNUP_JOBS.find((job) => job.queue === queue);
  if (!contract) throw new Error(`no signup job on queue ${queue}`);
  return Array.from({ length: count }, () => ({ name: contract.name, data: { userId: randomUUID() }, opts: contract.options }));
}

function drainOf(
  jobs: Record<string, number>,
  enqueueMs: number,
  workersStarted: number,
  cpuAtStart: NodeJS.CpuUsage,
  tallies: Record<string, QueueTally>,
): Drain {
  const cpu = process.cpuUsage(cpuAtStart);
  const drainMs = Object.fromEntries(
    Object.entries(tallies).map(([queue, tally]) => [queue, (tally.lastEndAt ?? workersStarted) - workersStarted]),
  );
  const totalDrainMs = Math.max(...Object.values(drainMs));
  return { jobs, enqueueMs, drainMs, totalDrainMs, cpuMs: (cpu.user + cpu.system) / 1_000, tallies };
}
