// How much memory Valkey needs once many signups have gone through: the figure the README gives
// for sizing the server (issue #5). Everything is the real code path on private infrastructure:
//
//   npx tsx bench/valkey-memory.ts [--signups N]      default 100,000
//
// A private valkey-server with production's flags (append-only, noeviction; e2e/support/valkey-server.ts),
// a throwaway migrated database, and the mock providers in this process with their rate limits
// lifted. Twenty producers call createSignup (user + outbox in one transaction, then the four
// immediate jobs to Valkey; the follow-up email is due in three days, so it stays in PostgreSQL)
// while startWorkers runs every queue with its limiter lifted too, so the run measures memory
// rather than provider quotas. Used memory is sampled as signups finish, then, once every queue
// has drained, INFO memory and every key grouped by shape with its MEMORY USAGE.
//
// Results: bench/results/valkey-memory-<date>.json and .md (a suffix -<N> when N is not the default).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, machine, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { childProcessEnv, config, loadConfig, type QueueName } from '@/lib/config';
import { createDb } from '@/lib/db';
import type { Logger } from '@/lib/log';
import { closeQueueSet, createQueueSet, QUEUE_NAMES, type QueueSet } from '@/lib/queues';
import { createProducerConnection, createWorkerConnection } from '@/lib/valkey';
import { applyMigrations } from '@/prisma/migrate';
import { createSignup } from '@/app/_signup/create-signup';
import { startMockProviders } from '@/infra/mock-providers/start-mock-providers';
import { startOutboxRelay } from '@/workers/loops/outbox-relay';
import type { QueueLimiter } from '@/lib/queues';
import { startWorkers } from '@/workers/runtime/start-workers';
import { startValkey, stopValkey } from '@/e2e/support/valkey-server';
import { createTempDatabase } from '@/tests/helpers/db-temp-database';
import { waitFor } from '@/tests/helpers/test-stack';
import { freePort } from '@/bench/harness/bench-stack';
import * as keyspace from '@/bench/valkey-keyspace';

const DEFAULT_SIGNUPS = 100_000;
const PRODUCERS = 20;
/**
 * Signups created but not yet finished by every queue. Production's workers keep up with signups,
 * so the backlog stays small; without this bound the producers would outrun the avatar renderer
 * and the figure would measure a backlog instead of retention.
 */
const MAX_LEAD = 2_000;
/** Shares of the run at which used_memory is recorded: 10k, 25k, 50k, 75k and 100k of 100k. */
const CHECKPOINT_SHARES = [0.1, 0.25, 0.5, 0.75, 1];
const PROGRESS_EVERY_MS = 10_000;
const FOLLOW_UP_DELAY_MS = 3 * 24 * 60 * 60 * 1_000;
/** Avatar rendering is CPU work in a sandboxed child per slot: one per core, as in production. */
const CONCURRENCY: Record<QueueName, number> = { email: 20, crm: 20, avatar: 2, analytics: 20 };
const UNLIMITED: QueueLimiter = { max: 100_000, duration: 1_000 };
const DRAIN_TIMEOUT_MS = 15 * 60_000;

type PerQueue = Record<QueueName, number>;

async function main(): Promise<void> {
  const signups = signupsArgument();
  const started = Date.now();
  const elapsedS = () => Math.round((Date.now() - started) / 100) / 10;
  // Undone last to first, on success or failure: the Valkey server is a daemon that would outlive us.
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  try {
    await run(signups, elapsedS, cleanups);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await Promise.resolve()
        .then(cleanup)
        .catch((error: unknown) => console.error('cleanup failed', error));
    }
  }
  // BullMQ's sandbox children and pools may linger a moment; the results are written.
  process.exit(0);
}

async function run(signups: number, elapsedS: () => number, cleanups: Array<() => Promise<unknown> | unknown>): Promise<void> {
  const valkeyDir = mkdtempSync(join(tmpdir(), 'valkey-memory-'));
  cleanups.push(() => rmSync(valkeyDir, { recursive: true, force: true }));
  const valkeyServer = { port: await freePort(), dir: valkeyDir };
  await startValkey(valkeyServer);
  cleanups.push(() => stopValkey(valkeyServer));
  const url = `redis://127.0.0.1:${valkeyServer.port}`;
  const probe = new Redis(url, { maxRetriesPerRequest: null });
  cleanups.push(() => probe.disconnect());
  const baseline = await keyspace.memorySnapshot(probe);
  const valkeyVersion = /valkey_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? 'unknown';

  const database = await createTempDatabase(config().databaseUrl, 'signup_bench');
  cleanups.push(() => database.drop());
  await applyMigrations(database.url);
  const mocks = await startMockProviders({ httpPort: 0, smtpPort: 0 });
  cleanups.push(() => mocks.close());
  const mocksUrl = `http://127.0.0.1:${mocks.httpPort}`;
  await liftProviderLimits(mocksUrl);

  const prefix = `bench-memory-${randomBytes(4).toString('hex')}`;
  const settings = loadConfig({
    ...childProcessEnv(config()),
    QUEUE_PREFIX: prefix,
    VALKEY_URL: url,
    DATABASE_URL: database.url,
    MOCKS_HOST: '127.0.0.1',
    MOCKS_HTTP_PORT: String(mocks.httpPort),
    MOCKS_SMTP_PORT: String(mocks.smtpPort),
  });
  const log = countingLog();
  const workerDb = createDb(database.url, { maxConnections: settings.databasePoolSize });
  const producerDb = createDb(database.url, { maxConnections: PRODUCERS });
  cleanups.push(() => Promise.all([workerDb.$disconnect(), producerDb.$disconnect()]));
  const workerConnection = createWorkerConnection(url, log);
  cleanups.push(() => workerConnection.disconnect());
  const running = startWorkers({
    config: settings,
    db: workerDb,
    connection: workerConnection,
    log,
    concurrency: CONCURRENCY,
    limiters: perQueueOf(UNLIMITED),
  });
  cleanups.push(() => running.close(10_000));
  const finished = perQueueOf(0);
  const deadLettered = perQueueOf(0);
  for (const worker of running.workers) {
    const queue = worker.name as QueueName;
    worker.on('completed', () => {
      finished[queue] += 1;
    });
    worker.on('failed', (job) => {
      if (!job?.finishedOn) return;
      finished[queue] += 1;
      deadLettered[queue] += 1;
    });
  }
  const producer = createProducerConnection(url, log);
  const relayConnection = createProducerConnection(url, log);
  cleanups.push(() => [producer, relayConnection].forEach((connection) => connection.disconnect()));
  await waitFor(() => producer.status === 'ready' && relayConnection.status === 'ready', { what: 'Valkey connections' });
  const queues = createQueueSet(producer, prefix);
  const relayQueues = createQueueSet(relayConnection, prefix);
  cleanups.push(() => Promise.all([closeQueueSet(queues), closeQueueSet(relayQueues)]));
  const relay = startOutboxRelay({ db: workerDb, queues: relayQueues, log });
  cleanups.push(() => relay.stop());
  await Promise.all(running.workers.map((worker) => worker.waitUntilReady()));
  const idle = await keyspace.memorySnapshot(probe);

  const processed = () => Math.min(...QUEUE_NAMES.map((queue) => finished[queue]));
  const outcomes = { created: 0, notDispatched: 0, retriedUnavailable: 0 };
  const checkpoints: Array<{ at: number; processed: number; elapsedS: number; waiting: PerQueue } & keyspace.MemorySnapshot> = [];
  const thresholds = CHECKPOINT_SHARES.map((share) => Math.round(signups * share));
  let sampling = false;
  const checkpointTimer = setInterval(() => {
    const next = thresholds[checkpoints.length];
    if (sampling || next === undefined || processed() < next) return;
    sampling = true;
    const at = { at: next, processed: processed(), elapsedS: elapsedS() };
    void Promise.all([keyspace.memorySnapshot(probe), waitingCounts(queues)])
      .then(([memory, waiting]) => {
        checkpoints.push({ ...at, waiting, ...memory });
        console.log(`checkpoint ${next.toLocaleString('en')} processed: used_memory ${memory.usedMemoryHuman}, ${memory.dbsize} keys`);
      })
      .catch((error: unknown) => console.error('checkpoint failed', error))
      .finally(() => (sampling = false));
  }, 100);
  cleanups.push(() => clearInterval(checkpointTimer));
  const progressTimer = setInterval(() => {
    void keyspace.memorySnapshot(probe).then((memory) => {
      const done = QUEUE_NAMES.map((queue) => `${queue} ${finished[queue]}`).join(', ');
      const rate = outcomes.created / Math.max(1, elapsedS());
      console.log(
        `[${elapsedS().toFixed(0).padStart(5)} s] signups ${outcomes.created}/${signups} (${rate.toFixed(0)}/s) | completed ${done} | used_memory ${memory.usedMemoryHuman}, ${memory.dbsize} keys | bench rss ${keyspace.formatBytes(process.memoryUsage.rss())}`,
      );
    }, (error: unknown) => console.error('progress failed', error));
    // The mocks keep every delivery and avatar in this process; forgetting them bounds its memory.
    resetMocks(mocksUrl).catch((error: unknown) => console.error('resetting the mocks failed', error));
  }, PROGRESS_EVERY_MS);
  cleanups.push(() => clearInterval(progressTimer));

  const runId = randomBytes(3).toString('hex');
  let nextIndex = 0;
  const produce = async () => {
    for (let index = nextIndex++; index < signups; index = nextIndex++) {
      while (outcomes.created - processed() >= MAX_LEAD) await sleep(20);
      const input = { name: `Bench User ${index}`, email: `bench-${runId}-${index}@example.test`, workspace: 'bench' };
      for (;;) {
        const outcome = await createSignup(input, { db: producerDb, queues, followUpDelayMs: FOLLOW_UP_DELAY_MS });
        if (outcome.status === 'created') {
          outcomes.created += 1;
          if (!outcome.dispatched) outcomes.notDispatched += 1;
          break;
        }
        if (outcome.status === 'duplicate') throw new Error(`duplicate signup ${input.email}`);
        outcomes.retriedUnavailable += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: PRODUCERS }, produce));
  const producedS = elapsedS();
  console.log(`all ${signups} signups created in ${producedS} s; draining`);

  await waitFor(
    async () => {
      if (processed() < signups) return false;
      const counts = await Promise.all(QUEUE_NAMES.map((queue) => queues[queue].getJobCounts('waiting', 'active', 'prioritized', 'delayed')));
      return counts.every((count) => Object.values(count).every((value) => value === 0));
    },
    { what: 'every queue to drain', timeoutMs: DRAIN_TIMEOUT_MS, intervalMs: 500 },
  );
  await waitFor(() => checkpoints.length === thresholds.length, { what: 'the last checkpoint' });
  const wallTimeS = elapsedS();

  const final = {
    memory: await keyspace.memoryInfo(probe),
    dbsize: await probe.dbsize(),
    jobCounts: Object.fromEntries(
      await Promise.all(QUEUE_NAMES.map(async (queue) => [queue, await queues[queue].getJobCounts()] as const)),
    ),
    queueSideKeys: await keyspace.queueSideKeys(probe, prefix),
    sampleCompletedJobs: await keyspace.sampleCompletedJobs(probe, queues, prefix),
    keyClasses: await keyspace.keyClasses(probe, prefix),
  };
  const postgres = {
    users: await workerDb.user.count(),
    outboxRowsWaitingInPostgres: await workerDb.outboxMessage.count({ where: { dispatchedAt: null } }),
    avatars: await workerDb.avatar.count(),
  };

  const results = {
    date: new Date().toISOString(),
    command: `npx tsx bench/valkey-memory.ts${signups === DEFAULT_SIGNUPS ? '' : ` --signups ${signups}`}`,
    machine: {
      nproc: availableParallelism(),
      arch: machine(),
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 1024 ** 3),
      node: process.version,
      valkey: valkeyVersion,
      valkeyFlags: "--save '' --appendonly yes --maxmemory-policy noeviction",
    },
    run: { signups, producers: PRODUCERS, maxLead: MAX_LEAD, concurrency: CONCURRENCY, limiter: UNLIMITED, producedS, wallTimeS },
    outcomes,
    jobsFinished: finished,
    deadLettered,
    logged: log.counts,
    baseline,
    idle,
    checkpoints,
    final,
    postgres,
  };
  const stem = `bench/results/valkey-memory-${results.date.slice(0, 10)}${signups === DEFAULT_SIGNUPS ? '' : `-${signups}`}`;
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`${stem}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${stem}.md`, markdown(results));
  console.log(`\n${markdown(results)}\nwritten to ${stem}.json and ${stem}.md`);
}

function markdown(r: {
  command: string;
  machine: Record<string, string | number>;
  run: { signups: number; wallTimeS: number };
  baseline: keyspace.MemorySnapshot;
  idle: keyspace.MemorySnapshot;
  checkpoints: Array<{ at: number; processed: number; elapsedS: number } & keyspace.MemorySnapshot>;
  final: {
    memory: keyspace.MemoryInfo;
    dbsize: number;
    jobCounts: Record<string, Record<string, number>>;
    queueSideKeys: Record<string, Record<string, number>>;
    sampleCompletedJobs: keyspace.SampleJob[];
    keyClasses: keyspace.KeyClass[];
  };
}): string {
  const bytes = (value: number | string | undefined) => keyspace.formatBytes(Number(value));
  const row = (label: string, s: keyspace.MemorySnapshot) =>
    `| ${label} | ${bytes(s.usedMemory)} | ${bytes(s.usedMemoryDataset)} | ${bytes(s.usedMemoryRss)} | ${s.dbsize} |`;
  const m = r.final.memory;
  return [
    `# Valkey memory after ${r.run.signups.toLocaleString('en')} signups`,
    '',
    `\`${r.command}\` · ${r.machine.nproc} cores ${r.machine.arch} · Valkey ${r.machine.valkey} (${r.machine.valkeyFlags}) · wall time ${Math.round(r.run.wallTimeS)} s`,
    '',
    '| point | used_memory | used_memory_dataset | used_memory_rss | keys |',
    '|---|---|---|---|---|',
    row('empty server', r.baseline),
    row('workers started', r.idle),
    ...r.checkpoints.map((c) => row(`${c.at.toLocaleString('en')} signups processed (${Math.round(c.elapsedS)} s)`, c)),
    `| drained (final) | ${bytes(m.used_memory)} (${m.used_memory_human}) | ${bytes(m.used_memory_dataset)} | ${bytes(m.used_memory_rss)} | ${r.final.dbsize} |`,
    '',
    '| queue | completed kept | failed | events stream | metrics points |',
    '|---|---|---|---|---|',
    ...QUEUE_NAMES.map(
      (queue) =>
        `| ${queue} | ${r.final.jobCounts[queue]?.completed} | ${r.final.jobCounts[queue]?.failed} | ${r.final.queueSideKeys[queue]?.eventsStreamLength} | ${r.final.queueSideKeys[queue]?.completedMetricsPoints} |`,
    ),
    '',
    '| key pattern | type | keys | MEMORY USAGE total | per key |',
    '|---|---|---|---|---|',
    ...r.final.keyClasses.map(
      (c) => `| \`${c.pattern}\` | ${c.type} | ${c.keys} | ${bytes(c.bytes)} | ${bytes(Math.round(c.bytes / c.keys))} |`,
    ),
    '',
    'One completed job hash (MEMORY USAGE, SAMPLES 0): ' +
      r.final.sampleCompletedJobs.map((job) => `${job.queue} ${job.memoryUsageBytes} B`).join(', '),
    '',
  ].join('\n');
}

async function liftProviderLimits(mocksUrl: string): Promise<void> {
  const response = await fetch(`${mocksUrl}/__faults/all`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mode: 'up', rateLimitPerSecond: 0 }),
  });
  if (!response.ok) throw new Error(`lifting the mocks' rate limits failed: ${response.status} ${await response.text()}`);
}

/** Reset also restores the default rate limits, so they are lifted again at once. */
async function resetMocks(mocksUrl: string): Promise<void> {
  await fetch(`${mocksUrl}/__reset`, { method: 'POST' });
  await liftProviderLimits(mocksUrl);
}

async function waitingCounts(queues: QueueSet): Promise<PerQueue> {
  const counts = await Promise.all(QUEUE_NAMES.map((queue) => queues[queue].getJobCounts('waiting', 'prioritized', 'delayed')));
  return Object.fromEntries(
    QUEUE_NAMES.map((queue, index) => [queue, Object.values(counts[index] ?? {}).reduce((a, b) => a + b, 0)]),
  ) as PerQueue;
}

function perQueueOf<T>(value: T): Record<QueueName, T> {
  return Object.fromEntries(QUEUE_NAMES.map((queue) => [queue, value])) as Record<QueueName, T>;
}

/** Counts warnings and errors by message and prints the first of each, so a run stays readable. */
function countingLog(): Logger & { counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  const note = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    const key = `${level}: ${message}`;
    counts[key] = (counts[key] ?? 0) + 1;
    if (counts[key] === 1) console.log(key, JSON.stringify(fields ?? {}));
  };
  return { counts, info: () => undefined, warn: note('warn'), error: note('error') };
}

function signupsArgument(): number {
  const at = process.argv.indexOf('--signups');
  if (at === -1) return DEFAULT_SIGNUPS;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error('--signups takes a positive whole number');
  return value;
}

await main();
