// What one refresh of the admin's queue health (app/_admin/queue-health/queue-health.ts) costs,
// the page polling it every 2 s: wall time and Valkey commands, with 1,000 and with 100,000 jobs
// across the four queues.
//
//   npm run bench:health-refresh               a private valkey-server: exact command counts
//   npm run bench:health-refresh -- --shared   the configured VALKEY_URL, on a private prefix;
//                                              INFO commandstats is server-wide, so other
//                                              traffic shows up as noise: run it when quiet
//
// Each size fills the queues on a fresh prefix: a few hundred jobs run through a no-op worker
// (completed, one in ten failed, so the metrics and the latency sample have data), some delayed,
// the rest waiting. The database is a throwaway one, migrated, with no dead letters or outbox rows.
import { randomUUID } from 'node:crypto';
import { MetricsTime, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { config, type QueueName } from '@/lib/config';
import { createDb } from '@/lib/db';
import { queueHealth, type QueueHealthDeps } from '@/app/_admin/queue-health/queue-health';
import { closeQueueSet, createQueueSet, queuePrefix, QUEUE_NAMES } from '@/lib/queues';
import { createProducerConnection, unlinkMatching, type Valkey } from '@/lib/valkey';
import { valkeyCounters } from '@/bench/harness/valkey-work';
import { applyMigrations } from '@/prisma/migrate';
import type { CircuitBreaker } from '@/lib/circuit-breaker';
import { SIGNUP_JOBS } from '@/workers/jobs/job-contracts';
import { providerBreaker } from '@/workers/resilience/provider-breaker';
import { createTempDatabase } from '@/tests/helpers/db-temp-database';
import { quietLog, waitFor } from '@/tests/helpers/test-stack';
import { startValkeyProcess, type ValkeyProcess } from '@/tests/helpers/valkey-process';

const SIZES = [1_000, 100_000];
const RUNS = 20;
const WARM_UP_RUNS = 3;
/** addBulk per round trip: bounded memory and no multi-second command on the server. */
const CHUNK = 1_000;
/** Shares of each queue's jobs that are finished (then 1 in 10 of those failed) and delayed. */
const FINISHED_SHARE = 0.02;
const DELAYED_SHARE = 0.02;

interface Row {
  jobs: number;
  perQueue: { waiting: number; delayed: number; completed: number; failed: number };
  medianMs: number;
  p95Ms: number;
  clientCommands: number;
  serverCommands: number;
  topServerCommands: string;
}

async function main(): Promise<void> {
  const shared = process.argv.includes('--shared');
  let valkey: ValkeyProcess | undefined;
  const url = shared ? config().valkey.url : (valkey = await startValkeyProcess()).url;
  const database = await createTempDatabase(config().databaseUrl, 'signup_bench');
  await applyMigrations(database.url);
  const db = createDb(database.url, { maxConnections: 2 });
  const rows: Row[] = [];
  try {
    for (const size of SIZES) rows.push(await measure(url, db, size));
  } finally {
    await db.$disconnect();
    await database.drop();
    await valkey?.stop();
  }

  console.log(`\nqueueHealth() refresh, ${RUNS} runs after ${WARM_UP_RUNS} warm-up, ${shared ? 'shared' : 'private'} Valkey at ${url}`);
  console.log('| jobs | per queue: waiting / delayed / completed / failed | median | p95 | commands sent | commands run by the server |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) {
    const { waiting, delayed, completed, failed } = row.perQueue;
    console.log(
      `| ${row.jobs.toLocaleString('en')} | ${waiting} / ${delayed} / ${completed} / ${failed} | ${row.medianMs.toFixed(1)} ms | ${row.p95Ms.toFixed(1)} ms | ${row.clientCommands} | ${row.serverCommands} |`,
    );
  }
  for (const row of rows) console.log(`server commands per refresh at ${row.jobs.toLocaleString('en')} jobs: ${row.topServerCommands}`);
}

async function measure(url: string, db: QueueHealthDeps['db'], jobs: number): Promise<Row> {
  const prefix = `bench-${randomUUID()}`;
  const filler = new Redis(url, { maxRetriesPerRequest: null });
  const perQueue = await fill(filler, prefix, jobs);

  // The web's own kind of connection: fail-fast, auto-pipelined.
  const producer = createProducerConnection(url);
  await waitFor(() => producer.status === 'ready', { what: 'Valkey' });
  const deps = healthDeps(db, producer, prefix);

  try {
    for (let i = 0; i < WARM_UP_RUNS; i += 1) await queueHealth(deps);
    const report = await queueHealth(deps);
    if (!report.valkeyReachable) throw new Error('Valkey unreachable during the benchmark');

    const statsBefore = await commandStats(filler);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      const started = performance.now();
      await queueHealth(deps);
      times.push(performance.now() - started);
    }
    const statsAfter = await commandStats(filler);
    const clientCommands = await commandsSentPerRefresh(url, db, prefix);
    const perRefresh = [...statsAfter]
      .map(([command, calls]) => [command, (calls - (statsBefore.get(command) ?? 0)) / RUNS] as const)
      .filter(([command, calls]) => calls > 0 && command !== 'info')
      .sort((a, b) => b[1] - a[1]);
    times.sort((a, b) => a - b);
    return {
      jobs,
      perQueue,
      medianMs: ((times[RUNS / 2 - 1] ?? 0) + (times[RUNS / 2] ?? 0)) / 2,
      p95Ms: times[Math.ceil(RUNS * 0.95) - 1] ?? 0,
      clientCommands: Math.round(clientCommands * 10) / 10,
      serverCommands: Math.round(perRefresh.reduce((total, [, calls]) => total + calls, 0) * 10) / 10,
      topServerCommands: perRefresh.map(([command, calls]) => `${command} ${Math.round(calls * 10) / 10}`).join(', '),
    };
  } finally {
    await closeQueueSet(deps.queues);
    producer.disconnect();
    await unlinkMatching(filler, `${prefix}:*`);
    filler.disconnect();
  }
}

/** `jobs` spread over the four queues, each with finished, delayed and waiting jobs. */
async function fill(connection: Redis, prefix: string, jobs: number): Promise<Row['perQueue']> {
  const perQueue = Math.floor(jobs / QUEUE_NAMES.length);
  const finished = Math.max(10, Math.round(perQueue * FINISHED_SHARE));
  const failed = Math.round(finished / 10);
  const delayed = Math.round(perQueue * DELAYED_SHARE);
  const waiting = perQueue - finished - delayed;
  const queues = createQueueSet(connection, prefix);

  await Promise.all(
    QUEUE_NAMES.map(async (name) => {
      const contract = SIGNUP_JOBS.find((candidate) => candidate.queue === name);
      if (!contract) throw new Error(`no contract for ${name}`);
      const job = (index: number, opts: Record<string, unknown> = {}) => {
        const userId = randomUUID();
        return { name: contract.name, data: { userId, fail: index < failed }, opts: { ...contract.options, jobId: `${contract.name}-${userId}`, ...opts } };
      };
      const add = async (count: number, opts: Record<string, unknown>) => {
        for (let start = 0; start < count; start += CHUNK) {
          const size = Math.min(CHUNK, count - start);
          await queues[name].addBulk(Array.from({ length: size }, (_, i) => job(start + i, opts)));
        }
      };

      // Run the finished share through a real worker, so BullMQ records timestamps and metrics.
      await add(finished, { attempts: 1 });
      const worker = new Worker(
        name,
        async (run) => {
          if ((run.data as { fail?: boolean }).fail) throw new Error('failed on purpose');
        },
        { connection, prefix: queuePrefix(prefix, name), concurrency: 50, metrics: { maxDataPoints: MetricsTime.ONE_HOUR * 24 } },
      );
      worker.on('error', () => undefined);
      await waitFor(
        async () => {
          const counts = await queues[name].getJobCounts('completed', 'failed');
          return (counts.completed ?? 0) + (counts.failed ?? 0) === finished;
        },
        { what: `${name} finished jobs`, timeoutMs: 120_000 },
      );
      await worker.close();

      await add(delayed, { delay: 3_600_000 });
      await add(waiting, {});
    }),
  );
  await closeQueueSet(queues);
  return { waiting, delayed, completed: finished - failed, failed };
}

/** Calls per command since the server started (commands run inside scripts counted too). */
async function commandStats(connection: Redis): Promise<Map<string, number>> {
  const { commands } = await valkeyCounters(connection);
  return new Map(Object.entries(commands).map(([command, { calls }]) => [command, calls]));
}

/**
 * Commands one refresh sends, a script counting once, on a connection that counts what passes
 * through it. Auto-pipelining is off there (ioredis's pipelines bypass a wrapped sendCommand); it
 * changes how commands share writes, not how many there are.
 */
async function commandsSentPerRefresh(url: string, db: QueueHealthDeps['db'], prefix: string): Promise<number> {
  const counting = new Redis(url, { maxRetriesPerRequest: 0 });
  const deps = healthDeps(db, counting, prefix);
  try {
    await queueHealth(deps);
    let sent = 0;
    const send = counting.sendCommand.bind(counting);
    counting.sendCommand = (...args: Parameters<Redis['sendCommand']>) => {
      sent += 1;
      return send(...args);
    };
    await queueHealth(deps);
    return sent;
  } finally {
    await closeQueueSet(deps.queues);
    counting.disconnect();
  }
}

function healthDeps(db: QueueHealthDeps['db'], connection: Valkey, prefix: string): QueueHealthDeps {
  const settings = { ...config(), queuePrefix: prefix };
  return {
    db,
    queues: createQueueSet(connection, prefix),
    breakers: Object.fromEntries(
      QUEUE_NAMES.map((queue) => [queue, providerBreaker(queue, settings, connection, quietLog).shared] as const),
    ) as Record<QueueName, CircuitBreaker>,
  };
}

await main();
