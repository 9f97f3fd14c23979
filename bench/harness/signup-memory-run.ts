// The run bench/valkey-memory.ts measures, on the bench stack it starts: twenty producers call
// createSignup (user + outbox in one transaction, then the four immediate jobs to Valkey; the
// follow-up email is due in three days, so it stays in PostgreSQL), never more than MAX_LEAD
// signups ahead of the workers, while startWorkers runs every queue in this process with its
// limiter lifted, as the stack's mock providers are, so the run measures memory rather than
// provider quotas. Used memory is recorded as signups finish (memory-checkpoints.ts); once every
// queue has drained, the whole keyspace is read (bench/valkey-keyspace.ts).
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QueueName } from '@/lib/config';
import { createPool } from '@/lib/sql';
import { closeQueueSet, createQueueSet, QUEUE_NAMES } from '@/lib/queues';
import { createProducerConnection, createWorkerConnection } from '@/lib/valkey';
import { createSignup } from '@/app/_signup/create-signup';
import { startOutboxRelay } from '@/workers/loops/outbox-relay';
import { startWorkers } from '@/workers/runtime/start-workers';
import { waitFor } from '@/tests/helpers/test-stack';
import type { BenchStack } from '@/bench/harness/bench-stack';
import { countingLog } from '@/bench/harness/counting-log';
import { recordMemoryCheckpoints, type PerQueue } from '@/bench/harness/memory-checkpoints';
import { completionTracker, inParallel, LIFTED_LIMITER, type QueueTally } from '@/bench/harness/throughput';
import { keyspaceSummary, memorySnapshot, type MemorySnapshot } from '@/bench/valkey-keyspace';

/** One per connection of the stack's database pool (bench-stack.ts: 20). */
const PRODUCERS = 20;
/**
 * Signups created but not yet finished by every queue. Production's workers keep up with signups,
 * so the backlog stays small; without this bound the producers would outrun the avatar renderer
 * and the figure would measure a backlog instead of retention.
 */
const MAX_LEAD = 2_000;
const FOLLOW_UP_DELAY_MS = 3 * 24 * 60 * 60 * 1_000;
/** Avatar rendering is CPU work in a sandboxed child per slot: one per core, as in production. */
const CONCURRENCY: Record<QueueName, number> = { email: 20, crm: 20, avatar: 2, analytics: 20 };
const DRAIN_TIMEOUT_MS = 15 * 60_000;
const MOCK_RESET_EVERY_MS = 10_000;

export interface SignupMemoryOptions {
  signups: number;
  /** Seconds since the benchmark started, to a tenth. */
  elapsedS(): number;
  /** The empty server, read before the stack was set up (startBenchStack's onServerStarted). */
  baseline: MemorySnapshot;
}

/** What the run measured, in the order valkey-memory.ts's results list it. */
export async function measureSignupMemory(stack: BenchStack, { signups, elapsedS, baseline }: SignupMemoryOptions) {
  const { config, probe, queues, valkeyUrl } = stack;
  const prefix = config.queuePrefix;
  const log = countingLog();
  const workerPool = createPool(config.databaseUrl, { maxConnections: config.databasePoolSize });
  stack.onClose(() => workerPool.end());
  const workerConnection = createWorkerConnection(valkeyUrl, log);
  stack.onClose(() => workerConnection.disconnect());
  const running = startWorkers({
    config,
    pool: workerPool,
    connection: workerConnection,
    log,
    concurrency: CONCURRENCY,
    limiters: Object.fromEntries(QUEUE_NAMES.map((queue) => [queue, LIFTED_LIMITER])),
  });
  stack.onClose(() => running.close(10_000));
  const tracker = completionTracker(Object.fromEntries(QUEUE_NAMES.map((queue) => [queue, signups])));
  for (const worker of running.workers) {
    worker.on('completed', () => tracker.completed(worker.name));
    worker.on('failed', (job) => tracker.failed(worker.name, Boolean(job?.finishedOn)));
  }
  const perQueue = (count: (tally: QueueTally) => number) =>
    Object.fromEntries(Object.entries(tracker.tallies()).map(([queue, tally]) => [queue, count(tally)])) as PerQueue;
  /** Jobs that reached their end per queue: completed, or failed with no retry left. */
  const finished = () => perQueue((tally) => tally.completed + tally.failed);
  const processed = () => Math.min(...Object.values(finished()));

  // The stack's queues are the producers'; the outbox relay has a connection of its own.
  const relayConnection = createProducerConnection(valkeyUrl, log);
  stack.onClose(() => relayConnection.disconnect());
  // Producer connections fail fast while disconnected (lib/valkey.ts): both are ready first.
  await Promise.all(QUEUE_NAMES.map((queue) => queues[queue].waitUntilReady()));
  await waitFor(() => relayConnection.status === 'ready', { what: 'Valkey connections' });
  const relayQueues = createQueueSet(relayConnection, prefix);
  stack.onClose(() => closeQueueSet(relayQueues));
  const relay = startOutboxRelay({ pool: workerPool, queues: relayQueues, log });
  stack.onClose(() => relay.stop());
  await Promise.all(running.workers.map((worker) => worker.waitUntilReady()));
  const idle = await memorySnapshot(probe);

  const outcomes = { created: 0, notDispatched: 0, retriedUnavailable: 0 };
  const checkpoints = recordMemoryCheckpoints(probe, queues, { signups, created: () => outcomes.created, finished, processed, elapsedS });
  stack.onClose(() => checkpoints.stop());
  const mockReset = setInterval(() => {
    // The mocks keep every delivery and avatar in this process; forgetting them bounds its memory.
    resetMocks(stack).catch((error: unknown) => console.error('resetting the mocks failed', error));
  }, MOCK_RESET_EVERY_MS);
  stack.onClose(() => clearInterval(mockReset));

  const runId = randomBytes(3).toString('hex');
  const indexes = Array.from({ length: signups }, (_, index) => index);
  await inParallel(indexes, PRODUCERS, async (index) => {
    while (outcomes.created - processed() >= MAX_LEAD) await sleep(20);
    const input = { name: `Bench User ${index}`, email: `bench-${runId}-${index}@example.test`, workspace: 'bench' };
    for (;;) {
      const outcome = await createSignup(input, { pool: stack.pool, queues, followUpDelayMs: FOLLOW_UP_DELAY_MS });
      if (outcome.status === 'created') {
        outcomes.created += 1;
        if (!outcome.dispatched) outcomes.notDispatched += 1;
        break;
      }
      if (outcome.status === 'duplicate') throw new Error(`duplicate signup ${input.email}`);
      outcomes.retriedUnavailable += 1;
    }
  });
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
  await checkpoints.allTaken();
  const wallTimeS = elapsedS();

  const final = await keyspaceSummary(probe, queues, prefix);
  const postgres = {
    users: await stack.db.user.count(),
    outboxRowsWaitingInPostgres: await stack.db.outboxMessage.count({ where: { dispatchedAt: null } }),
    avatars: await stack.db.avatar.count(),
  };
  return {
    run: { signups, producers: PRODUCERS, maxLead: MAX_LEAD, concurrency: CONCURRENCY, limiter: LIFTED_LIMITER, producedS, wallTimeS },
    outcomes,
    jobsFinished: finished(),
    deadLettered: perQueue((tally) => tally.failed),
    logged: log.counts,
    baseline,
    idle,
    checkpoints: checkpoints.taken,
    final,
    postgres,
  };
}

export type SignupMemoryRun = Awaited<ReturnType<typeof measureSignupMemory>>;

/** A reset restores the mocks' default rate limits too, so they are lifted again at once. */
async function resetMocks(stack: BenchStack): Promise<void> {
  await fetch(`${stack.mocksUrl}/__reset`, { method: 'POST' });
  await stack.setFault('all', { mode: 'up', rateLimitPerSecond: 0 });
}
