// graphile-worker as a backend of the backends scenario: a PostgreSQL job queue that is not BullMQ,
// on a throwaway database with the schema its own migrations install, driven through the same
// QueueBackend interface as BullMQ. A BullMQ queue name is a graphile-worker task identifier, a
// jobId its job key; each worker() is one graphile-worker runner that runs that one task.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobsOptions } from 'bullmq';
import { Logger, makeWorkerUtils, run, runMigrations, type AddJobsJobSpec, type Job, type TaskSpec, type WorkerEvents } from 'graphile-worker';
import graphileWorkerPackage from 'graphile-worker/package.json' with { type: 'json' };
import pg from 'pg';
import { config as processConfig } from '@/lib/config';
import { createTempDatabase } from '@/tests/helpers/db-temp-database';
import { POSTGRES_POOL_MAX, type BenchQueue, type BenchWorker, type Processor, type QueueBackend } from '@/bench/harness/queue-backends';
import { withinDeadline } from '@/bench/harness/throughput';

const CLOSE_DEADLINE_MS = 10_000;
/** How long waitUntilReady waits for a runner's LISTEN: 500 probes 10 ms apart. */
const LISTEN_PROBES = 500;
const LISTEN_PROBE_MS = 10;

/** graphile-worker's `priority` and `max_attempts` columns are smallints (its migration 000011). */
const SMALLINT_MAX = 32_767;

/**
 * Says nothing: graphile-worker logs every completed job at info level, and 2,000 lines to the
 * terminal would be measured too (as silentLog in throughput.ts). Errors reach the worker's
 * 'error' listeners through graphile-worker's events instead.
 */
const silentLogger = new Logger(() => () => undefined);

/**
 * A pool that this module ends and awaits (graphile-worker ends a pool it made without waiting for
 * it), with the two error handlers graphile-worker asks of a pool it is given: an error on an idle
 * client, or on one checked out, must not crash the process.
 */
function ownedPool(url: string, max: number, onError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

/**
 * BullMQ's options as graphile-worker's, for the options the workload sets. `backoff` has no
 * counterpart: graphile-worker retries after exp(min(attempts, 10)) seconds (its fail_jobs), and
 * it deletes every job that succeeds, whatever `removeOnComplete` says.
 */
function taskSpec(opts: JobsOptions = {}): Pick<TaskSpec, 'jobKey' | 'priority' | 'maxAttempts'> {
  return {
    ...(opts.jobId === undefined ? {} : { jobKey: opts.jobId }),
    // Both run lower numbers first. BullMQ's 0 (or none) means "no priority", run before every
    // prioritized job, whose numbers start at 1: graphile-worker's default 0 keeps that order.
    // BullMQ's numbers reach 2,097,152, past the smallint's range.
    priority: Math.min(opts.priority ?? 0, SMALLINT_MAX),
    // BullMQ runs a job once unless told otherwise; graphile-worker's default is 25 attempts.
    maxAttempts: Math.min(Math.max(opts.attempts ?? 1, 1), SMALLINT_MAX),
  };
}

/**
 * One queue name's adds, through WorkerUtils on a pool of its own (BullMQ's Queue has one too).
 * The BullMQ job name is dropped: the queue name is the task, and the workload's handlers read
 * only the data.
 */
function graphileQueue(url: string, task: string): BenchQueue {
  const pool = ownedPool(url, POSTGRES_POOL_MAX, () => undefined);
  const utils = makeWorkerUtils({ pgPool: pool, logger: silentLogger });
  // A queue closed without an add must not leave a failed start unhandled.
  utils.catch(() => undefined);
  let closing: Promise<void> | undefined;
  return {
    async add(_jobName, data, opts) {
      // BullMQ's second add of a jobId is a no-op while the first job exists, in whatever state.
      // Of add_job's modes only 'unsafe_dedupe' does that: 'replace' and 'preserve_run_at' rewrite
      // a waiting job's payload, priority and attempts, and add a second job beside a running one
      // (its add_jobs clears the running job's key first). "Unsafe" in graphile-worker's sense: the
      // second add is dropped even if it carried newer data, which is BullMQ's contract.
      return (await utils).addJob(task, data, { ...taskSpec(opts), jobKeyMode: 'unsafe_dedupe' });
    },
    async addBulk(jobs) {
      // add_jobs is one INSERT … ON CONFLICT (key) DO UPDATE, which PostgreSQL refuses when two of
      // its rows share a key ("cannot affect row a second time"), so repeats within one call are
      // dropped here, keeping the first as BullMQ does. A key that already has a job is updated by
      // add_jobs, not skipped (it takes no job_key_mode, only this run_at flag): `true` keeps the
      // waiting job's place in line, the nearest it has to BullMQ's no-op. The workload's ids are
      // all new, so only the test's repeats meet either path.
      const keys = new Set<string>();
      const specs: AddJobsJobSpec[] = [];
      for (const { data, opts } of jobs) {
        const spec = taskSpec(opts);
        if (spec.jobKey !== undefined) {
          if (keys.has(spec.jobKey)) continue;
          keys.add(spec.jobKey);
        }
        specs.push({ identifier: task, payload: data, ...spec });
      }
      return (await utils).addJobs(specs, true);
    },
    close() {
      closing ??= (async () => {
        await (await utils.catch(() => undefined))?.release();
        await pool.end();
      })();
      return closing;
    },
  };
}

/** The jobId it was added with, as BullMQ reports it; graphile-worker's own id when there was none. */
function bullmqJobId(job: Job): string {
  return job.key ?? job.id;
}

/**
 * Resolves once a runner's LISTEN is in effect, so that a job added next wakes it. Its
 * pool:listen:success is no sign: main.js emits it just before sending the LISTEN. So this sends
 * NOTIFYs the runner ignores (a jobs:insert of count 0 nudges no worker) until one comes back.
 */
async function untilListening(pool: pg.Pool, events: WorkerEvents): Promise<void> {
  let heard = false;
  const hear = () => {
    heard = true;
  };
  events.on('pool:listen:notification', hear);
  try {
    for (let probe = 0; !heard; probe += 1) {
      if (probe === LISTEN_PROBES) throw new Error(`graphile-worker was not listening after ${LISTEN_PROBES} probes`);
      await pool.query(`SELECT pg_notify('jobs:insert', '{"count":0}')`);
      await sleep(LISTEN_PROBE_MS);
    }
  } finally {
    events.off('pool:listen:notification', hear);
  }
}

/**
 * One graphile-worker runner (`run()`) per worker: its concurrency is per runner, so a runner with
 * `concurrency` workers and a task list of this queue's task alone is what one BullMQ Worker on
 * one queue is. Its pool holds one connection more than BullMQ's Worker pool because
 * graphile-worker takes its LISTEN connection out of the same pool and keeps it: ten for queries
 * plus the LISTEN one, as BullMQ's PostgreSQL Worker has.
 */
function graphileWorker(url: string, task: string, processor: Processor, concurrency: number): BenchWorker {
  const listeners = new EventEmitter();
  const reportError = (error: unknown) => {
    // An EventEmitter throws an 'error' nobody listens to.
    if (listeners.listenerCount('error') > 0) listeners.emit('error', error instanceof Error ? error : new Error(String(error)));
  };
  const pool = ownedPool(url, POSTGRES_POOL_MAX + 1, reportError);
  // Given to run() so that no event of its start is missed.
  const events = new EventEmitter() as WorkerEvents;

  // 'completed' is job:complete without an error. In 0.17.3 neither job:success nor job:complete
  // waits for the job's row to be deleted: worker.js emits job:success, calls completeJob(job)
  // without awaiting it (the DELETE of sql/completeJobs.js is only queued on the pool), then emits
  // job:complete. job:complete is the later of the two and the one documented as sent once "the
  // result … has been written back to the database", so the event comes about one DELETE round
  // trip early. The worker asks for its next job while that DELETE runs: graphile-worker's design.
  events.on('job:complete', ({ job, error }) => {
    if (error === null) listeners.emit('completed', { id: bullmqJobId(job) });
  });
  // BullMQ emits 'failed' for every failed attempt and sets finishedOn on the last one only.
  events.on('job:error', ({ job }) => {
    if (job.attempts < job.max_attempts) listeners.emit('failed', {});
  });
  events.on('job:failed', () => listeners.emit('failed', { finishedOn: Date.now() }));
  events.on('worker:fatalError', ({ error }) => reportError(error));
  events.on('worker:getJob:error', ({ error }) => reportError(error));
  events.on('pool:fatalError', ({ error }) => reportError(error));
  events.on('pool:listen:error', ({ error }) => reportError(error));

  const runner = run({
    pgPool: pool,
    events,
    logger: silentLogger,
    concurrency,
    taskList: {
      // The result is dropped: graphile-worker stores none, and an array returned for an array
      // payload would be read as a batch job's outcome per entry.
      [task]: async (payload) => {
        await processor({ data: payload });
      },
    },
    // No crontab: without this, run() reads ./crontab if the working directory has one.
    parsedCronItems: [],
    // The benchmark owns the process's signals: graphile-worker's handlers would stop every
    // runner in the process on SIGINT or SIGTERM.
    noHandleSignals: true,
  });
  runner.then((started) => started.promise.catch(reportError), reportError);

  let ready: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const worker: BenchWorker = {
    on(event: string, listener: Parameters<EventEmitter['on']>[1]) {
      listeners.on(event, listener);
      return worker;
    },
    waitUntilReady() {
      ready ??= runner.then(() => untilListening(pool, events));
      return ready;
    },
    close(force = false) {
      closing ??= (async () => {
        const started = await runner.catch(() => undefined);
        // stop() waits for the running jobs; kill() fails them after half a second.
        if (started) await withinDeadline(force ? started.kill() : started.stop(), CLOSE_DEADLINE_MS);
        await withinDeadline(pool.end(), CLOSE_DEADLINE_MS);
      })();
      return closing;
    },
  };
  return worker;
}

/**
 * graphile-worker on a throwaway database of the configured server, its schema installed by its
 * own runMigrations. Its settings are its defaults but for those `detail` lists.
 */
export async function startGraphileWorkerBackend(): Promise<QueueBackend> {
  const database = await createTempDatabase(processConfig().databaseUrl, 'graphile_bench');
  // Every queue and worker made, closed again by close(): their close() runs once.
  const made: Array<{ close(): Promise<void> }> = [];
  try {
    const migrationPool = ownedPool(database.url, 1, () => undefined);
    let schemaVersion: number;
    try {
      await runMigrations({ pgPool: migrationPool, logger: silentLogger });
      const { rows } = await migrationPool.query<{ version: number }>('SELECT max(id) AS version FROM graphile_worker.migrations');
      schemaVersion = rows[0]?.version ?? 0;
    } finally {
      await migrationPool.end();
    }
    const library = `graphile-worker ${graphileWorkerPackage.version}`;
    return {
      name: library,
      detail:
        `graphile-worker's schema version ${schemaVersion} and default settings: LISTEN/NOTIFY wake-ups with its 2 s poll ` +
        `for delayed and retried jobs, one job fetched per worker (no local queue) and one DELETE per completed job ` +
        `(no completion batching). Set otherwise: a pool of ${POSTGRES_POOL_MAX} per queue and ${POSTGRES_POOL_MAX} plus ` +
        `the LISTEN connection per runner (as BullMQ's PostgreSQL backend; its own advice is the larger of 10 and concurrency + 2), one runner ` +
        `per worker at the worker's concurrency (its concurrency is per runner), no crontab, no signal handlers, and no ` +
        `logging (it logs every completed job). A jobId is the job key, added by add with job_key_mode unsafe_dedupe ` +
        `(BullMQ's no-op second add) and once per addBulk call; it deletes every completed job whatever removeOnComplete ` +
        `says, so both retentions are the same run, and retries after e^attempt seconds whatever backoff says.`,
      library,
      store: { kind: 'postgres', url: database.url, database: database.name },
      queue(name) {
        const queue = graphileQueue(database.url, name);
        made.push(queue);
        return queue;
      },
      worker(name, processor, concurrency) {
        const worker = graphileWorker(database.url, name, processor, concurrency);
        made.push(worker);
        return worker;
      },
      async close() {
        // What the workload left open first: a runner whose database is dropped under it fails
        // its jobs' completions, which graphile-worker does not catch.
        await Promise.all(made.map((closable) => withinDeadline(closable.close(), CLOSE_DEADLINE_MS)));
        await database.drop();
      },
    };
  } catch (error) {
    await database.drop();
    throw error;
  }
}
