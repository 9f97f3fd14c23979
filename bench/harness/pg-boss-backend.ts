// pg-boss 10 as a backend of the backends scenario: its own schema (migrated by start()) on a
// throwaway database, one PgBoss instance shared by the run's queues and workers, and BullMQ's job
// options mapped to the nearest pg-boss ones:
//
// - jobId: pg-boss ids must be UUIDs, so the id is a UUID v5 of the jobId (sha1 under a fixed
//   namespace). The job table's primary key (name, id) and its `ON CONFLICT DO NOTHING` then drop a
//   second add of the same jobId in pg-boss itself, as BullMQ drops it. Unlike BullMQ with
//   `removeOnComplete: true`, the id stays taken after completion, until the row is archived. The
//   original jobId is kept in a map in this process and reported as `job.id`.
// - priority: BullMQ runs lower numbers first and jobs without a priority before all of them;
//   pg-boss fetches `ORDER BY priority desc, created_on, id` with 0 by default, so BullMQ's p
//   becomes −p. The jobs of one addBulk share created_on (one statement's now()), so among equal
//   priorities pg-boss takes them in id order, not in the order they were added.
// - name: not kept; a pg-boss job's name is its queue's.
// - attempts n: retryLimit n − 1 (BullMQ's default of one attempt: 0, not pg-boss's 2). Backoff:
//   a fixed delay becomes retryDelay in whole seconds, rounded up; 'exponential' and custom
//   strategies (the contracts' capped full jitter) become retryBackoff, pg-boss's only curve:
//   BullMQ's exponential one (delay × 2^(k−1) before retry k) plus a random 0–100% more, capped
//   only in its exponent (16), from 1 s when no delay is given (plans.js, failJobs).
// - removeOnComplete / removeOnFail: pg-boss has no per-job retention. Completed and failed jobs
//   stay in their queue's partition of the job table until maintenance archives them (12 h by
//   default) and deletes them from the archive (7 days), so a run keeps every job it processed:
//   that retention, pg-boss's own, is the one under test.
//
// Events. pg-boss has none per job; its worker completes a job with an UPDATE it does not await
// (manager.js, watch → onFetch). PgBoss runs every statement through the `db` adapter of its
// constructor, so the adapter here is pg-boss's own (a pg.Pool, one query per statement, as db.js)
// that also recognises pg-boss's complete and fail statements by their exact text (plans.js): a
// job's 'completed' is emitted when pg-boss's completing UPDATE has returned, so the time it
// reports includes that write. 'failed' follows the fail statement and one look-up of the job's
// state, on the failure path only: it carries `finishedOn` when no retry is left.
//
// Polling. pg-boss 10 has no LISTEN/NOTIFY: an idle worker finds a new job at its next poll,
// 0.5 s apart at the least pg-boss allows (attorney.js, MIN_POLLING_INTERVAL_MS). Its loop also
// sleeps the rest of that interval after every fetch, jobs found or not (worker.js, start), which
// caps one work() at batchSize jobs per 0.5 s; see `startLoop` for how the worker fetches again at
// once while it finds jobs.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobsOptions } from 'bullmq';
import PgBoss from 'pg-boss';
import pgBossPackage from 'pg-boss/package.json' with { type: 'json' };
import pg from 'pg';
import { config as processConfig } from '@/lib/config';
import { createTempDatabase } from '@/tests/helpers/db-temp-database';
import { POSTGRES_POOL_MAX, type BenchQueue, type BenchWorker, type Processor, type QueueBackend } from '@/bench/harness/queue-backends';

/** The statements pg-boss sends, from its own source: the adapter matches them by text. */
interface PgBossPlans {
  DEFAULT_SCHEMA: string;
  fetchNextJob(schema: string): (options: { includeMetadata: boolean; priority: boolean }) => string;
  completeJobs(schema: string): string;
  failJobsById(schema: string): string;
}
const plans = createRequire(import.meta.url)('pg-boss/src/plans.js') as PgBossPlans;
const SCHEMA = plans.DEFAULT_SCHEMA;
// What manager.js's watch() sends for the options in WORK_OPTIONS (includeMetadata false, priority true).
const FETCH_SQL = plans.fetchNextJob(SCHEMA)({ includeMetadata: false, priority: true });
const COMPLETE_SQL = plans.completeJobs(SCHEMA);
const FAIL_SQL = plans.failJobsById(SCHEMA);

const LIBRARY = `pg-boss ${pgBossPackage.version}`;

/**
 * One job per fetch, polled every 0.5 s, the least pg-boss allows. Concurrency N is N work()
 * calls, each its own polling loop: pg-boss 10 dropped v9's teamSize/teamConcurrency and its
 * author points to several work() calls so that one slow job holds up no other (timgit/pg-boss
 * #483); later versions made the same thing an option (`localConcurrency`: N independent workers).
 * One work() with batchSize N would complete or fail its N jobs as one (manager.js, onFetch:
 * complete(name, jobIds) or fail(name, jobIds)) and fetch again only once the slowest is done.
 * The price: an idle worker sends N fetches every 0.5 s.
 */
const WORK_OPTIONS = { batchSize: 1, pollingIntervalSeconds: 0.5 } as const;

/** How long close() waits for pg-boss's workers to finish their jobs. */
const STOP_TIMEOUT_MS = 10_000;
const CLOSE_POLL_MS = 10;

// A fixed namespace of our own, as UUID v5 wants one per kind of name.
const JOB_ID_NAMESPACE = Buffer.from('5fa5e7717bdd43fca0c6721cdad87e1d', 'hex');

/** UUID v5 (RFC 9562 §5.5) of a BullMQ jobId: the same jobId, the same pg-boss id. */
function uuidFromJobId(jobId: string): string {
  const bytes = createHash('sha1').update(JOB_ID_NAMESPACE).update(jobId).digest().subarray(0, 16);
  bytes.writeUInt8((bytes.readUInt8(6) & 0x0f) | 0x50, 6);
  bytes.writeUInt8((bytes.readUInt8(8) & 0x3f) | 0x80, 8);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

type PgBossJobOptions = Pick<PgBoss.JobInsert, 'id' | 'priority' | 'retryLimit' | 'retryDelay' | 'retryBackoff'>;

/** BullMQ's options for one job as pg-boss's (see the header); refuses those it cannot honour. */
function pgBossJobOptions(options: JobsOptions = {}): PgBossJobOptions {
  const unmapped = (['delay', 'lifo', 'deduplication', 'parent'] as const).filter((option) => options[option] !== undefined);
  if (unmapped.length > 0) throw new Error(`${LIBRARY} backend: ${unmapped.join(', ')} not mapped`);
  const { jobId, priority, attempts = 1, backoff } = options;
  const mapped: PgBossJobOptions = { priority: priority ? -priority : 0, retryLimit: Math.max(0, attempts - 1) };
  if (jobId !== undefined) mapped.id = uuidFromJobId(jobId);
  if (backoff === undefined) return mapped;
  const { type, delay } = typeof backoff === 'number' ? { type: 'fixed', delay: backoff } : backoff;
  const retryDelay = delay === undefined ? undefined : Math.ceil(delay / 1_000);
  if (type === 'fixed') return { ...mapped, retryDelay: retryDelay ?? 0, retryBackoff: false };
  return retryDelay === undefined ? { ...mapped, retryBackoff: true } : { ...mapped, retryDelay, retryBackoff: true };
}

function objectPayload(data: unknown): object {
  if (typeof data !== 'object' || data === null) throw new TypeError(`${LIBRARY} backend: a job's data must be an object`);
  return data;
}

class PgBossWorker extends EventEmitter implements BenchWorker {
  /** Jobs this worker took whose end pg-boss has not recorded yet, by `jobKey`. */
  readonly unfinished = new Set<string>();
  /** Failures recorded by pg-boss whose 'failed' event waits for the job's state. */
  failuresBeingReported = 0;
  readonly loopIds: string[] = [];
  ready: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(
    readonly queueName: string,
    private readonly stopLoops: (worker: PgBossWorker) => Promise<void>,
    private readonly idle: (worker: PgBossWorker) => boolean,
  ) {
    super();
  }

  waitUntilReady(): Promise<void> {
    return this.ready;
  }

  /** Stops this worker's loops and, unless forced, waits (bounded) for the jobs they hold. */
  close(force = false): Promise<void> {
    this.closing ??= (async () => {
      await this.ready.catch(() => undefined);
      await this.stopLoops(this);
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (!force && !this.idle(this) && Date.now() < deadline) await sleep(CLOSE_POLL_MS);
    })();
    return this.closing;
  }

  /** An 'error' with nobody listening would throw inside pg-boss's emitter. */
  report(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/** pg-boss's 'error' payloads: Errors, or from a worker loop a plain copy with its queue and worker id. */
function asError(payload: unknown): Error {
  if (payload instanceof Error) return payload;
  const message = typeof payload === 'object' && payload !== null && 'message' in payload ? String(payload.message) : String(payload);
  return new Error(message);
}

function workerIdOf(payload: unknown): string | undefined {
  return typeof payload === 'object' && payload !== null && 'worker' in payload && typeof payload.worker === 'string' ? payload.worker : undefined;
}

/** A queue's job, across queues: pg-boss's key is (name, id). */
const jobKey = (queue: string, id: string) => `${queue}\u0000${id}`;

/** pg-boss's default pool size, which is also BullMQ's backend's per Queue or Worker. */
const PG_BOSS_POOL_MAX = POSTGRES_POOL_MAX;

/** pg-boss 10 on a throwaway database of the configured server; close() stops it and drops the database. */
export async function startPgBossBackend(): Promise<QueueBackend> {
  const database = await createTempDatabase(processConfig().databaseUrl, 'pgboss_bench');
  // What pg-boss's own Db opens (db.js): one pool for the instance, application_name 'pgboss', of
  // its default size. It serves the queue and the workers together; a pool of 21, what BullMQ's
  // backend holds for a Queue and a Worker, drained no faster (3,000 jobs at concurrency 1, 10 and
  // 50, twice each: 532–580, 928–975 and 965–1,115 jobs/s, against 500–564, 905–955 and 937–1,006).
  const pool = new pg.Pool({ connectionString: database.url, max: PG_BOSS_POOL_MAX, application_name: 'pgboss' });
  const workers = new Set<PgBossWorker>();
  /** Who took each job, so its end goes to that worker's listeners. */
  const owners = new Map<string, PgBossWorker>();
  /** The BullMQ jobId each pg-boss id was derived from. */
  const jobIds = new Map<string, string>();
  /** Fetches on the wire per queue: a stopped loop may still be inside one, and take a job from it. */
  const fetching = new Map<string, number>();

  const broadcast = (error: Error) => {
    for (const worker of workers) worker.report(error);
  };
  pool.on('error', broadcast);

  // Taken at once when pg-boss records the end: a retried job may be fetched again right after.
  const takeOwnership = (key: string) => {
    const owner = owners.get(key);
    owners.delete(key);
    owner?.unfinished.delete(key);
    return owner;
  };
  const reportedId = (key: string, id: string) => jobIds.get(key) ?? id;

  const onCompleted = (queue: string, ids: string[]) => {
    for (const id of ids) {
      const key = jobKey(queue, id);
      const owner = takeOwnership(key);
      if (!owner) continue;
      owner.emit('completed', { id: reportedId(key, id) });
      jobIds.delete(key);
    }
  };

  // The fail statement returns a count only: whether a retry is left is the job's state after it.
  const onFailed = async (queue: string, ids: string[]) => {
    for (const id of ids) {
      const key = jobKey(queue, id);
      const owner = takeOwnership(key);
      if (!owner) continue;
      owner.failuresBeingReported += 1;
      try {
        const job = await boss.getJobById(queue, id);
        if (job?.state === 'failed') {
          owner.emit('failed', { id: reportedId(key, id), finishedOn: job.completedOn?.getTime() ?? Date.now() });
          jobIds.delete(key);
        } else {
          owner.emit('failed', { id: reportedId(key, id) });
        }
      } catch (error) {
        owner.report(asError(error));
      } finally {
        owner.failuresBeingReported -= 1;
      }
    }
  };

  const db: PgBoss.Db = {
    async executeSql(text: string, values?: unknown[]) {
      const fetchQueue = text === FETCH_SQL ? String(values?.[0]) : undefined;
      if (fetchQueue !== undefined) fetching.set(fetchQueue, (fetching.get(fetchQueue) ?? 0) + 1);
      let result: pg.QueryResult;
      try {
        result = await pool.query(text, values);
      } finally {
        if (fetchQueue !== undefined) fetching.set(fetchQueue, (fetching.get(fetchQueue) ?? 1) - 1);
      }
      // Both are sent with [name, ids, output] (manager.js, complete and fail).
      if (text === COMPLETE_SQL) onCompleted(String(values?.[0]), values?.[1] as string[]);
      else if (text === FAIL_SQL) void onFailed(String(values?.[0]), values?.[1] as string[]);
      return result;
    },
  };

  // Every setting is pg-boss's default (maintenance every 120 s, archive after 12 h, cron and
  // clock monitoring on, no state monitoring); only the connection is ours, as above.
  const boss = new PgBoss({ db });
  boss.on('error', (payload: unknown) => {
    const error = asError(payload);
    const workerId = workerIdOf(payload);
    const owner = workerId === undefined ? undefined : [...workers].find((worker) => worker.loopIds.includes(workerId));
    if (owner) owner.report(error);
    else broadcast(error);
  });

  let schemaVersion: number;
  let serverVersion: string;
  try {
    await boss.start();
    schemaVersion = Number(await boss.schemaVersion());
    serverVersion = (await pool.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown';
  } catch (error) {
    await boss.stop({ graceful: false }).catch(() => undefined);
    await pool.end();
    await database.drop();
    throw error;
  }

  // pg-boss 10 needs createQueue(name) before send, insert or work: once per name, on first use.
  const created = new Map<string, Promise<void>>();
  const ensureQueue = (name: string) => {
    let creating = created.get(name);
    if (!creating) {
      creating = boss.createQueue(name);
      creating.catch(() => created.delete(name));
      created.set(name, creating);
    }
    return creating;
  };

  const rememberJobId = (queueName: string, options: PgBossJobOptions, jobId: string | undefined) => {
    if (jobId !== undefined && options.id !== undefined) jobIds.set(jobKey(queueName, options.id), jobId);
  };

  // Each loop, on finding a job, calls notifyWorker(its own id) — pg-boss's documented way "to
  // bypass the job polling interval for this iteration in the loop" — so that it fetches again as
  // soon as the job is done instead of sleeping 0.5 s; a fetch that finds nothing sleeps the
  // interval as usual. Without it every loop would take 2 jobs a second at most (worker.js), and a
  // drain would measure that sleep rather than PostgreSQL.
  const startLoop = async (worker: PgBossWorker, processor: Processor) => {
    // Its id is known once work() resolves, before its first fetch can return.
    const loop: { id?: string } = {};
    loop.id = await boss.work(worker.queueName, WORK_OPTIONS, async ([job]) => {
      if (!job) return undefined;
      if (loop.id !== undefined) boss.notifyWorker(loop.id);
      const key = jobKey(worker.queueName, job.id);
      owners.set(key, worker);
      worker.unfinished.add(key);
      return processor({ data: job.data });
    });
    worker.loopIds.push(loop.id);
  };

  return {
    name: LIBRARY,
    detail:
      `pg-boss's own schema (version ${schemaVersion}) and defaults on PostgreSQL ${serverVersion.split(' ')[0]}: one pool of ` +
      `${PG_BOSS_POOL_MAX} for all queues and workers (its default; 21 measured no faster), maintenance every 120 s, completed jobs kept in the job table until ` +
      `archived after 12 h (no per-job removal). Not default: workers poll every 0.5 s (the least allowed, default 2 s; ` +
      `version 10 has no LISTEN/NOTIFY), concurrency N is N work() loops of one job each, and a loop that found a job ` +
      `fetches again at once (notifyWorker) rather than sleep out the interval, which caps a loop at 2 jobs/s`,
    library: LIBRARY,
    store: { kind: 'postgres', url: database.url, database: database.name },
    queue(queueName): BenchQueue {
      return {
        async add(_jobName, data, opts) {
          const options = pgBossJobOptions(opts);
          await ensureQueue(queueName);
          rememberJobId(queueName, options, opts?.jobId);
          return boss.send(queueName, objectPayload(data), options);
        },
        // One INSERT … SELECT FROM json_to_recordset … ON CONFLICT DO NOTHING per call (plans.js, insertJobs).
        async addBulk(jobs) {
          const inserts = jobs.map(({ data, opts }) => {
            const options = pgBossJobOptions(opts);
            rememberJobId(queueName, options, opts?.jobId);
            return { name: queueName, data: objectPayload(data), ...options };
          });
          await ensureQueue(queueName);
          await boss.insert(inserts);
        },
        // The PgBoss instance is the backend's, closed with it.
        close: async () => undefined,
      };
    },
    worker(queueName, processor, concurrency) {
      const worker = new PgBossWorker(
        queueName,
        async (self) => {
          await Promise.all(self.loopIds.map((id) => boss.offWork({ id })));
          workers.delete(self);
        },
        (self) => self.unfinished.size === 0 && self.failuresBeingReported === 0 && (fetching.get(self.queueName) ?? 0) === 0,
      );
      workers.add(worker);
      worker.ready = (async () => {
        await ensureQueue(queueName);
        await Promise.all(Array.from({ length: concurrency }, () => startLoop(worker, processor)));
      })();
      worker.ready.catch((error: unknown) => worker.report(asError(error)));
      return worker;
    },
    async close() {
      try {
        // Workers first, so that no loop is inside a fetch when the pool ends: a job it took then
        // would be completed on an ended pool. Then pg-boss, gracefully: it stops its own loops and
        // timers and waits for active jobs up to the timeout, then fails the rest.
        await Promise.all([...workers].map((worker) => worker.close()));
        await boss.stop({ graceful: true, wait: true, timeout: STOP_TIMEOUT_MS });
        await pool.end();
      } finally {
        // WITH (FORCE) ends any connection a failed stop left open.
        await database.drop();
      }
    },
  };
}
