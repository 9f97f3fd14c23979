// graphile-worker behind the benchmark's QueueBackend interface, on real PostgreSQL: a bulk add with
// repeated jobIds runs each distinct job once and reports it by its jobId, a repeated add is a
// no-op, BullMQ's priorities keep their order, a job with no attempt left reports itself failed for
// good, and close() drops the backend's database.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { config as processConfig } from '@/lib/config';
import { startGraphileWorkerBackend } from '@/bench/harness/graphile-worker-backend';
import type { BenchWorker, QueueBackend } from '@/bench/harness/queue-backends';

let backend: QueueBackend;

beforeAll(async () => {
  backend = await startGraphileWorkerBackend();
});
afterAll(async () => {
  await backend?.close();
});

async function query<Row extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

function postgresStore() {
  if (backend.store.kind !== 'postgres') throw new Error('graphile-worker keeps its jobs in PostgreSQL');
  return backend.store;
}

/** Jobs still in graphile-worker's table, waiting, running or failed. */
async function jobsLeft(): Promise<number> {
  const [row] = await query<{ count: number }>(postgresStore().url, 'SELECT count(*)::int AS count FROM graphile_worker.jobs');
  return row?.count ?? Number.NaN;
}

/** What a worker reports: the jobIds it completed, its failures (with finishedOn, if final) and errors. */
function recorded(worker: BenchWorker) {
  const events = { completed: [] as Array<string | undefined>, failed: [] as Array<number | undefined>, errors: [] as Error[] };
  worker.on('completed', (job) => events.completed.push(job.id));
  worker.on('failed', (job) => events.failed.push(job?.finishedOn));
  worker.on('error', (error) => events.errors.push(error));
  return events;
}

describe('graphile-worker backend', () => {
  it('names the library and version that ran and keeps its jobs in its own database', () => {
    expect(backend.name).toMatch(/^graphile-worker \d+\.\d+\.\d+$/);
    expect(backend.library).toBe(backend.name);
    expect(backend.store).toMatchObject({ kind: 'postgres', database: expect.stringMatching(/^graphile_bench_/) });
  });

  it('runs each distinct jobId of a bulk add once and reports it by that jobId', async () => {
    const queue = backend.queue('bulk-add');
    const jobIds = Array.from({ length: 180 }, () => `send-welcome-email:${randomUUID()}`);
    // 200 adds: the 180 ids, then 20 of them again.
    const jobs = [...jobIds, ...jobIds.slice(0, 20)].map((jobId) => ({
      name: 'send-welcome-email',
      data: { jobId },
      opts: { jobId, priority: 1, attempts: 3, removeOnComplete: true },
    }));
    await queue.addBulk(jobs);
    const worker = backend.worker('bulk-add', async () => ({ status: 'applied' }), 10);
    const events = recorded(worker);
    try {
      await vi.waitFor(() => expect(events.completed.length).toBeGreaterThanOrEqual(180), { timeout: 10_000 });
      // Completions are reported as the row's DELETE is sent; none is left to run once they land.
      await vi.waitFor(async () => expect(await jobsLeft()).toBe(0), { timeout: 5_000 });
    } finally {
      await worker.close();
      await queue.close();
    }
    expect(events.completed.toSorted()).toEqual(jobIds.toSorted());
    expect(events.failed).toEqual([]);
    expect(events.errors).toEqual([]);
  });

  it('keeps the first of two adds with one jobId, as BullMQ does', async () => {
    const queue = backend.queue('repeated-add');
    const jobId = `send-welcome-email:${randomUUID()}`;
    await queue.add('send-welcome-email', { version: 'first' }, { jobId });
    await queue.add('send-welcome-email', { version: 'second' }, { jobId });
    const seen: unknown[] = [];
    const worker = backend.worker('repeated-add', async (job) => seen.push(job.data), 1);
    const events = recorded(worker);
    try {
      await worker.waitUntilReady();
      await vi.waitFor(() => expect(events.completed).toEqual([jobId]), { timeout: 5_000 });
      await vi.waitFor(async () => expect(await jobsLeft()).toBe(0), { timeout: 5_000 });
    } finally {
      await worker.close();
      await queue.close();
    }
    expect(seen).toEqual([{ version: 'first' }]);
  });

  it('wakes an idle worker by NOTIFY, well before its 2 s poll', async () => {
    const queue = backend.queue('wake-up');
    const worker = backend.worker('wake-up', async () => undefined, 1);
    const events = recorded(worker);
    try {
      await worker.waitUntilReady();
      const added = performance.now();
      await queue.add('job', {}, { jobId: `wake-up:${randomUUID()}` });
      await vi.waitFor(() => expect(events.completed).toHaveLength(1), { timeout: 5_000, interval: 5 });
      expect(performance.now() - added).toBeLessThan(1_000);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('runs a lower BullMQ priority number first, and a job without one before both', async () => {
    const queue = backend.queue('priorities');
    // Added in an order that first-in-first-out would keep.
    await queue.addBulk([3, 1, 2].map((priority) => ({ name: 'job', data: { priority }, opts: { jobId: `priority-${priority}`, priority } })));
    await queue.add('job', { priority: 0 }, { jobId: 'no-priority' });
    const order: unknown[] = [];
    const worker = backend.worker(
      'priorities',
      async (job) => order.push((job.data as { priority: number }).priority),
      1,
    );
    const events = recorded(worker);
    try {
      await vi.waitFor(() => expect(events.completed).toHaveLength(4), { timeout: 5_000 });
    } finally {
      await worker.close();
      await queue.close();
    }
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('reports a job failed for good, with finishedOn, when it had one attempt (BullMQ’s default)', async () => {
    const queue = backend.queue('failing');
    await queue.add('job', {}, { jobId: `failing:${randomUUID()}` });
    const worker = backend.worker(
      'failing',
      async () => {
        throw new Error('provider refused');
      },
      1,
    );
    const events = recorded(worker);
    try {
      await vi.waitFor(() => expect(events.failed).toHaveLength(1), { timeout: 5_000 });
    } finally {
      await worker.close();
      await queue.close();
    }
    expect(events.failed[0]).toEqual(expect.any(Number));
    expect(events.completed).toEqual([]);
  });

  it('drops its database on close', async () => {
    const { database } = postgresStore();
    await backend.close();
    const rows = await query(processConfig().databaseUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    expect(rows).toEqual([]);
  });
});
