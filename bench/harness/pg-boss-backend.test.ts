// The pg-boss backend against a real PostgreSQL: a jobId added twice is one pg-boss job and one
// 'completed' that names it, BullMQ's priority order holds, a failure with no retry left reports
// its end, a drain that runs out of time says how far it got, and close() drops the throwaway
// database.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config as processConfig } from '@/lib/config';
import { sendWelcomeEmail } from '@/workers/jobs/job-contracts';
import { startPgBossBackend } from '@/bench/harness/pg-boss-backend';
import type { BenchWorker, QueueBackend } from '@/bench/harness/queue-backends';
import { addInChunks } from '@/bench/harness/throughput';
import { DrainDeadlineError, drainBacklog } from '@/bench/harness/backend-workload';

const EVENT_WAIT_MS = 10_000;

function welcomeJob() {
  const data = { userId: randomUUID() };
  return { name: sendWelcomeEmail.name, data, opts: { ...sendWelcomeEmail.options, jobId: sendWelcomeEmail.jobId(data) } };
}

/** The ids of the worker's 'completed' events, in order, and a wait for the count to reach n. */
function completions(worker: BenchWorker) {
  const ids: string[] = [];
  let waiting: { count: number; resolve: () => void } | undefined;
  worker.on('completed', (job) => {
    ids.push(String(job.id));
    if (waiting && ids.length >= waiting.count) waiting.resolve();
  });
  const reach = (count: number) =>
    new Promise<void>((resolve, reject) => {
      if (ids.length >= count) return resolve();
      const timer = setTimeout(() => reject(new Error(`${ids.length}/${count} completed`)), EVENT_WAIT_MS);
      waiting = { count, resolve: () => (clearTimeout(timer), resolve()) };
    });
  return { ids, reach };
}

async function onServer<T>(sql: string, params: unknown[], url = processConfig().databaseUrl): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('pg-boss backend', () => {
  let backend: QueueBackend;
  let closed = false;

  beforeAll(async () => {
    backend = await startPgBossBackend();
  });

  afterAll(async () => {
    if (backend && !closed) await backend.close();
  });

  it('names pg-boss and its version', () => {
    expect(backend.name).toMatch(/^pg-boss \d+\.\d+\.\d+$/);
    expect(backend.library).toBe(backend.name);
    expect(backend.store).toMatchObject({ kind: 'postgres', database: expect.stringMatching(/^pgboss_bench_/) });
  });

  it('drops a jobId added twice, as BullMQ does, and completes each job once under its jobId', async () => {
    const name = 'dedup';
    const distinct = Array.from({ length: 180 }, welcomeJob);
    // In chunks of 100: the first ten repeat jobs of the other chunk, the last ten of their own INSERT.
    const repeated = [...distinct.slice(0, 10), ...distinct.slice(170, 180)];
    const queue = backend.queue(name);
    await addInChunks(queue, [...distinct, ...repeated], 100);
    const rows = await onServer<{ jobs: string }>('SELECT count(*) AS jobs FROM pgboss.job WHERE name = $1', [name], backend.store.url);
    expect(Number(rows[0]?.jobs)).toBe(180);

    const worker = backend.worker(name, async () => ({ sent: true }), 10);
    worker.on('error', (error) => expect.fail(error.message));
    const completed = completions(worker);
    await worker.waitUntilReady();
    await completed.reach(180);
    await worker.close();
    expect(completed.ids).toHaveLength(180);
    expect(new Set(completed.ids)).toEqual(new Set(distinct.map((job) => job.opts.jobId)));
    await queue.close();
  });

  it('runs jobs without a priority first, then lower BullMQ priority numbers first', async () => {
    const name = 'priority';
    const queue = backend.queue(name);
    for (const [label, priority] of [['later', 5], ['sooner', 1], ['first', undefined]] as const) {
      await queue.add(sendWelcomeEmail.name, { label }, { jobId: label, ...(priority ? { priority } : {}) });
    }
    // The order the handler runs them in: pg-boss does not await its completing UPDATEs, so two of
    // them on two connections may return, and report 'completed', in either order.
    const started: string[] = [];
    const worker = backend.worker(name, async (job) => void started.push((job.data as { label: string }).label), 1);
    await completions(worker).reach(3);
    await worker.close();
    expect(started).toEqual(['first', 'sooner', 'later']);
  });

  it('reports a failed attempt with a retry left, then the last one with finishedOn', async () => {
    const name = 'failing';
    await backend.queue(name).add('fails', { userId: randomUUID() }, { jobId: 'fails', attempts: 2 });
    const worker = backend.worker(name, async () => Promise.reject(new Error('provider down')), 1);
    const failures: Array<{ finishedOn?: number } | undefined> = [];
    const lastFailure = new Promise<void>((resolve) =>
      worker.on('failed', (job) => {
        failures.push(job);
        if (job?.finishedOn) resolve();
      }),
    );
    await lastFailure;
    await worker.close();
    expect(failures.map((job) => typeof job?.finishedOn)).toEqual(['undefined', 'number']);
  });

  it('says how far a drain got when it misses its deadline', async () => {
    const missed = await drainBacklog(backend, { jobs: 3_000, concurrency: 1, retention: 'removed', deadlineMs: 300 }).catch(
      (error: unknown) => error,
    );

    expect(missed).toBeInstanceOf(DrainDeadlineError);
    const { partial, message } = missed as DrainDeadlineError;
    expect(partial).toMatchObject({ jobs: 3_000, concurrency: 1 });
    expect(partial.processed).toBeLessThan(3_000);
    expect(partial.processMs).toBeGreaterThanOrEqual(300);
    expect(message).toBe(`${partial.processed.toLocaleString('en-US')} of 3,000 jobs processed within 0.3 s`);
  });

  it('drops its database on close', async () => {
    const { database } = backend.store as { database: string };
    await backend.close();
    closed = true;
    expect(await onServer('SELECT 1 FROM pg_database WHERE datname = $1', [database])).toEqual([]);
  });
});
