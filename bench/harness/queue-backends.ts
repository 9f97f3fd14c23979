// The queue backends the backends scenario compares, behind one small interface: BullMQ on Valkey 8,
// on the machine's Redis 7, and on BullMQ 6's own PostgreSQL backend (its migrations, its schema, a
// throwaway database). Each is private to the run and removed by close().
import { Queue, Worker, createPostgresBackend, runMigrations, withBackend, type JobsOptions } from 'bullmq';
import bullmqPackage from 'bullmq/package.json' with { type: 'json' };
import { Redis } from 'ioredis';
import pg from 'pg';
import { config as processConfig } from '@/lib/config';
import { createTempDatabase } from '@/tests/helpers/db-temp-database';
import { startBenchStack, type ServerBinary } from '@/bench/harness/bench-stack';

export interface BenchQueue {
  add(name: string, data: unknown, opts?: JobsOptions): Promise<unknown>;
  addBulk(jobs: Array<{ name: string; data: unknown; opts?: JobsOptions }>): Promise<unknown>;
  close(): Promise<void>;
}

export interface BenchWorker {
  on(event: 'completed', listener: (job: { id?: string }) => void): unknown;
  on(event: 'failed', listener: (job: { finishedOn?: number } | undefined) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  waitUntilReady(): Promise<unknown>;
  close(force?: boolean): Promise<void>;
}

export type Processor = (job: { data: unknown }) => Promise<unknown>;

/**
 * Where a backend keeps its jobs, so that its costs can be read beside the timings
 * (bench/harness/backend-costs.ts): a key-value server's INFO (its process id and memory), or a
 * PostgreSQL database's tables, dead tuples and autovacuum runs.
 */
export type BackendStore = { kind: 'key-value'; url: string } | { kind: 'postgres'; url: string; database: string };

export interface QueueBackend {
  /** Short, for tables and charts: "Valkey 8.0.1". */
  name: string;
  /** How it was set up, for the report. */
  detail: string;
  /** The queue library and the version that ran: "bullmq 6.7.0", "pg-boss 10.4.2". */
  library: string;
  store: BackendStore;
  queue(name: string): BenchQueue;
  worker(name: string, processor: Processor, concurrency: number): BenchWorker;
  close(): Promise<void>;
}

/**
 * Connections per PostgreSQL Queue or Worker pool: the project's DATABASE_POOL_SIZE default. Two
 * cores cannot run more queries at once, and the server's 100 connections are shared with the
 * other scenarios running beside this one. The LISTEN connection comes on top.
 */
export const POSTGRES_POOL_MAX = 10;

/** BullMQ on a private valkey-server or redis-server with production's flags (bench-stack.ts). */
export async function startKeyValueBackend(server: ServerBinary): Promise<QueueBackend> {
  const stack = await startBenchStack({ server });
  // Workers block on their own duplicate of this connection; commands share it, as in workers/main.ts.
  const connection = new Redis(stack.valkeyUrl, { maxRetriesPerRequest: null });
  const [product = server, version = 'unknown'] = stack.serverVersion.split('_version:');
  return {
    name: `${product === 'valkey' ? 'Valkey' : 'Redis'} ${version}`,
    detail: `${server}, appendonly yes (fsync every second), noeviction, one client connection shared by queue and worker`,
    library: `bullmq ${bullmqPackage.version}`,
    store: { kind: 'key-value', url: stack.valkeyUrl },
    queue(name) {
      const queue = new Queue(name, { connection });
      queue.on('error', () => undefined);
      return queue;
    },
    worker(name, processor, concurrency) {
      return new Worker(name, processor, { connection, concurrency });
    },
    async close() {
      connection.disconnect();
      await stack.close();
    },
  };
}

/**
 * BullMQ's PostgreSQL backend on a throwaway database of the configured server, migrated with the
 * backend's own runMigrations. `synchronousCommit: false` sets the database's synchronous_commit
 * off: a commit no longer waits for its WAL flush, which is about the durability Valkey's
 * once-a-second fsync gives.
 */
export async function startPostgresBackend({ synchronousCommit }: { synchronousCommit: boolean }): Promise<QueueBackend> {
  const database = await createTempDatabase(processConfig().databaseUrl, 'bullmq_bench');
  try {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    let schemaVersion: number;
    let serverVersion: string;
    try {
      // A standalone client, never a pool: the migration's advisory lock and transaction share it.
      schemaVersion = await runMigrations(client);
      if (!synchronousCommit) await client.query(`ALTER DATABASE ${pg.escapeIdentifier(database.name)} SET synchronous_commit TO off`);
      serverVersion = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown';
    } finally {
      await client.end();
    }
    const { Queue: PgQueue, Worker: PgWorker } = withBackend(createPostgresBackend);
    const connection = { connectionString: database.url, max: POSTGRES_POOL_MAX };
    return {
      name: `PostgreSQL ${serverVersion.split(' ')[0]}${synchronousCommit ? '' : ', sync commit off'}`,
      detail:
        `BullMQ's PostgreSQL backend, schema version ${schemaVersion}, pool of ${POSTGRES_POOL_MAX} per Queue and per Worker ` +
        `plus the Worker's LISTEN connection, synchronous_commit ${synchronousCommit ? 'on (the server default)' : 'off'}`,
      library: `bullmq ${bullmqPackage.version}`,
      store: { kind: 'postgres', url: database.url, database: database.name },
      queue(name) {
        const queue = new PgQueue(name, { connection });
        queue.on('error', () => undefined);
        return queue;
      },
      worker(name, processor, concurrency) {
        return new PgWorker(name, processor, { connection, concurrency });
      },
      // WITH (FORCE) ends any pool a failed run left open.
      close: () => database.drop(),
    };
  } catch (error) {
    await database.drop();
    throw error;
  }
}
