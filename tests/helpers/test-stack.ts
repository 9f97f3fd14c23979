// What an integration test needs, real and isolated: its own queue prefix on the real Valkey, its
// own mock providers on free ports, the migrated test database, and cleanup of all of it.
import { randomUUID } from 'node:crypto';
import { loadConfig, type Config, type QueueName } from '@/lib/config';
import { createDb, type Db } from '@/lib/db';
import { createPool, type Pool } from '@/lib/sql';
import type { Logger } from '@/lib/log';
import { relayPendingBatch, type Dispatch } from '@/lib/outbox';
import { closeQueueSet, createQueueSet, type QueueSet } from '@/lib/queues';
import { jobOptions, pacedByTenant } from '@/workers/jobs/job-contracts';
import { createProducerConnection, createWorkerConnection, unlinkMatching, type Valkey } from '@/lib/valkey';
import { startMockProviders, type MockProviders } from '@/infra/mock-providers/start-mock-providers';
import { createSignup } from '@/app/_signup/create-signup';

export interface TestStack {
  config: Config;
  /** The test's PostgreSQL connections: what the app's hot paths and the workers take. */
  pool: Pool;
  /** Prisma over the same pool, for reading what happened. */
  db: Db;
  queues: QueueSet;
  /** The queues with the contracts' job options: what the outbox dispatches to. */
  dispatch: Dispatch;
  producer: Valkey;
  mocks: MockProviders;
  mocksUrl: string;
  /** A connection with worker settings for BullMQ Workers in this test. */
  workerConnection(): Valkey;
  /** A signup through the real producer, its four jobs dispatched to this stack's queues. */
  signUp(): Promise<string>;
  setFault(provider: string, fault: Record<string, unknown>): Promise<void>;
  inspect(provider: string): Promise<InspectedEffect[]>;
  close(): Promise<void>;
}

export interface InspectedEffect {
  key: string;
  deliveries: number;
  failures: number;
  body: unknown;
}

/** Tests assert on state, not on log lines; keep their output readable. */
export const quietLog: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export async function startTestStack(overrides: Record<string, string> = {}): Promise<TestStack> {
  const mocks = await startMockProviders({ httpPort: 0, smtpPort: 0 });
  const config = loadConfig({
    ...process.env,
    QUEUE_PREFIX: `test-${randomUUID()}`,
    MOCKS_HOST: '127.0.0.1',
    MOCKS_HTTP_PORT: String(mocks.httpPort),
    MOCKS_SMTP_PORT: String(mocks.smtpPort),
    PROVIDER_TIMEOUT_MS: '2000',
    APP_URL: 'http://app.test',
    // A test that brings its own server (to stop it) means that server, not the suite's cluster.
    ...('VALKEY_URL' in overrides ? { VALKEY_CLUSTER_NODES: '' } : {}),
    ...overrides,
  });
  const pool = createPool(config.databaseUrl, { maxConnections: 5 });
  const db = createDb(pool);
  const producer = createProducerConnection(config.valkey);
  await waitFor(async () => producer.status === 'ready', { what: 'Valkey connection' });
  const queues = createQueueSet(producer, config.queuePrefix);
  const workerConnections: Valkey[] = [];
  const mocksUrl = `http://127.0.0.1:${mocks.httpPort}`;

  return {
    config,
    pool,
    db,
    queues,
    dispatch: { queues, jobOptions, pacedByTenant },
    producer,
    mocks,
    mocksUrl,
    async signUp() {
      const outcome = await createSignup(uniqueSignup(), { pool, queues, followUpDelayMs: config.followUpDelayMs });
      if (outcome.status !== 'created' || !outcome.dispatched) throw new Error(`signup was not dispatched: ${outcome.status}`);
      return outcome.userId;
    },
    workerConnection() {
      const connection = createWorkerConnection(config.valkey);
      workerConnections.push(connection);
      return connection;
    },
    async setFault(provider, fault) {
      const response = await fetch(`${mocksUrl}/__faults/${provider}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(fault),
      });
      if (!response.ok) throw new Error(`setting fault failed: ${response.status} ${await response.text()}`);
    },
    async inspect(provider) {
      return (await (await fetch(`${mocksUrl}/__inspect/${provider}`)).json()) as InspectedEffect[];
    },
    async close() {
      await closeQueueSet(queues);
      await unlinkMatching(producer, `${config.queuePrefix}:*`);
      producer.disconnect();
      for (const connection of workerConnections) connection.disconnect();
      await db.$disconnect();
      await pool.end();
      await mocks.close();
    },
  };
}

/**
 * Sends every pending outbox row now, as the relay would, for a stack that runs no relay: on a
 * loaded machine a producer's batch can miss its enqueue deadline and be left to the relay.
 */
export async function relayPending(stack: Pick<TestStack, 'pool' | 'dispatch'>): Promise<void> {
  for (;;) {
    const { claimed, error } = await relayPendingBatch(stack.pool, stack.dispatch, { batchSize: 500, minAgeMs: 0 });
    if (error) throw error;
    if (claimed === 0) return;
  }
}

/** Polls until `check` returns a truthy value, or fails after the deadline. Never a fixed sleep. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  { timeoutMs = 15_000, intervalMs = 25, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function jobCounts(queues: QueueSet, queue: QueueName) {
  return queues[queue].getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
}

/** A signup payload whose email no other test uses. */
export function uniqueSignup(overrides: Record<string, unknown> = {}) {
  const id = randomUUID().slice(0, 8);
  return { name: `Test User ${id}`, email: `user-${id}@example.test`, workspace: 'acme', ...overrides };
}
