// What a benchmark scenario runs against, all private to it and all real: its own key-value server
// (Valkey 8, or the machine's Redis 7 for comparison) with production's flags, a throwaway migrated
// PostgreSQL database, the mock providers in this process, and a Config naming them, from which
// child processes (web, workers) get their environment. `close()` undoes everything, last first.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { childProcessEnv, config as processConfig, loadConfig, type Config } from '@/lib/config';
import { createDb, type Db } from '@/lib/db';
import { createPool, type Pool } from '@/lib/sql';
import { closeQueueSet, createQueueSet, type QueueSet } from '@/lib/queues';
import { createProducerConnection } from '@/lib/valkey';
import { applyMigrations } from '@/prisma/migrate';
import type { ProviderRequestObserver } from '@/infra/mock-providers/mock-state';
import { startMockProviders } from '@/infra/mock-providers/start-mock-providers';
import { createTempDatabase } from '@/tests/helpers/db-temp-database';

export type ServerBinary = 'valkey-server' | 'redis-server';

/**
 * Worker processes and mock providers run at this niceness, as `npm start` runs them
 * (scripts/start-stack.ts): on a shared machine the web gets the CPU first and the queues absorb
 * the rest.
 */
export const BACKGROUND_NICENESS = 10;

export interface BenchStackOptions {
  /** Which server holds the queues; default valkey-server. */
  server?: ServerBinary;
  /** Turn off the mock providers' rate limits, to measure the system rather than quotas. */
  unlimitedProviders?: boolean;
  /** Extra environment for this stack's Config and its child processes. */
  env?: Record<string, string>;
  /** Told of every request a mock provider answers, with its outcome and moment (requests/s). */
  onProviderRequest?: ProviderRequestObserver;
  /**
   * The mock providers in a process of their own at the workers' lower priority, as `npm start`
   * runs them, rather than in this one: for measurements where their CPU must not count as the
   * load generator's, since the providers they stand for run on other machines.
   */
  mocksInOwnProcess?: boolean;
  /**
   * Runs once the server answers, before the rest of the stack starts or anything else connects
   * to it (the producers' queues write their meta keys at once): to read the empty server.
   */
  onServerStarted?(probe: Redis): Promise<void>;
}

export interface BenchStack {
  config: Config;
  /** The environment a web or worker process of this stack needs. */
  env: Record<string, string>;
  /** The stack's PostgreSQL connections, for the producers and in-process workers. */
  pool: Pool;
  /** Prisma over the same pool, for reading results. */
  db: Db;
  queues: QueueSet;
  /** A plain connection to the stack's server, for INFO and MEMORY. */
  probe: Redis;
  valkeyUrl: string;
  mocksUrl: string;
  serverVersion: string;
  setFault(provider: string, fault: Record<string, unknown>): Promise<void>;
  /** Runs `cleanup` when the stack closes, before what was set up earlier. */
  onClose(cleanup: () => Promise<unknown> | unknown): void;
  close(): Promise<void>;
}

export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await Promise.resolve()
        .then(cleanup)
        .catch((error: unknown) => console.error('bench cleanup failed:', error instanceof Error ? error.message : error));
    }
  };
  try {
    const server = await startServer(options.server ?? 'valkey-server');
    cleanups.push(server.stop);
    const probe = new Redis(server.url, { maxRetriesPerRequest: null });
    cleanups.push(() => probe.disconnect());
    await options.onServerStarted?.(probe);
    const info = await probe.info('server');
    // Valkey reports a redis_version too (7.2.4, for clients that check it) before its own.
    const serverVersion = (/valkey_version:(\S+)/.exec(info) ?? /redis_version:(\S+)/.exec(info))?.[0] ?? 'unknown';

    const database = await createTempDatabase(processConfig().databaseUrl, 'signup_bench');
    cleanups.push(() => database.drop());
    await applyMigrations(database.url);

    if (options.mocksInOwnProcess && options.onProviderRequest) throw new Error('onProviderRequest needs the mocks in this process');
    const mocks = options.mocksInOwnProcess
      ? await startMocksProcess()
      : await startMockProviders({ httpPort: 0, smtpPort: 0, onRequest: options.onProviderRequest });
    cleanups.push(() => mocks.close());
    const mocksUrl = `http://127.0.0.1:${mocks.httpPort}`;
    const setFault = async (provider: string, fault: Record<string, unknown>) => {
      const response = await fetch(`${mocksUrl}/__faults/${provider}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(fault),
      });
      if (!response.ok) throw new Error(`fault ${provider}: ${response.status} ${await response.text()}`);
    };
    if (options.unlimitedProviders) await setFault('all', { mode: 'up', rateLimitPerSecond: 0 });

    const config = loadConfig({
      ...childProcessEnv(processConfig()),
      QUEUE_PREFIX: 'bench',
      VALKEY_URL: server.url,
      DATABASE_URL: database.url,
      MOCKS_HOST: '127.0.0.1',
      MOCKS_HTTP_PORT: String(mocks.httpPort),
      MOCKS_SMTP_PORT: String(mocks.smtpPort),
      ...options.env,
    });
    const env: Record<string, string> = {
      ...childProcessEnv(config),
      QUEUE_PREFIX: config.queuePrefix,
      NODE_ENV: 'production',
      ...options.env,
    };

    const pool = createPool(database.url, { maxConnections: 20 });
    cleanups.push(() => pool.end());
    const db = createDb(pool);
    cleanups.push(() => db.$disconnect());
    const producer = createProducerConnection(server.url);
    cleanups.push(() => producer.disconnect());
    const queues = createQueueSet(producer, config.queuePrefix);
    cleanups.push(() => closeQueueSet(queues));

    return {
      config,
      env,
      pool,
      db,
      queues,
      probe,
      valkeyUrl: server.url,
      mocksUrl,
      serverVersion,
      setFault,
      onClose: (cleanup) => cleanups.push(cleanup),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * A server in the foreground as this process's child, with production's persistence flags
 * (append-only, no snapshots, noeviction), in a directory of its own.
 */
async function startServer(binary: ServerBinary): Promise<{ url: string; stop(): Promise<void> }> {
  if (spawnSync('sh', ['-c', `command -v ${binary}`]).status !== 0) throw new Error(`${binary} is not installed`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `bench-${binary}-`));
  const child: ChildProcess = spawn(
    binary,
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'yes', '--maxmemory-policy', 'noeviction', '--dir', dir],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused connections are expected until the server listens; the loop below retries them.
  client.on('error', () => undefined);
  for (let attempt = 0; ; attempt += 1) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (error) {
      if (attempt > 100 || child.exitCode !== null) throw new Error(`${binary} did not start on ${port}`, { cause: error });
      await sleep(50);
    }
  }
  client.disconnect();
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `npm run mocks` as a child, niced as npm start runs it; resolves once it answers. */
async function startMocksProcess(): Promise<{ httpPort: number; smtpPort: number; close(): Promise<void> }> {
  const [httpPort, smtpPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(process.execPath, ['dist/mocks.js'], {
    env: { ...childProcessEnv(processConfig()), MOCKS_HTTP_PORT: String(httpPort), MOCKS_SMTP_PORT: String(smtpPort), NODE_ENV: 'production' },
    stdio: 'ignore',
  });
  if (child.pid === undefined) throw new Error('the mock providers could not be started');
  setPriority(child.pid, BACKGROUND_NICENESS);
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  for (let attempt = 0; ; attempt += 1) {
    const answer = await fetch(`http://127.0.0.1:${httpPort}/__health`).catch(() => undefined);
    if (answer?.ok) return { httpPort, smtpPort, close };
    if (attempt > 300 || child.exitCode !== null) {
      await close();
      throw new Error('the mock providers did not start');
    }
    await sleep(100);
  }
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}
