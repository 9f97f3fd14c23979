// The whole stack of one chaos soak, private to it: its own Valkey (AOF everysec), a throwaway
// migrated database on the machine's PostgreSQL, the mock providers in this process (their records
// are the evidence, so no fault ever kills them), one web and N worker processes from the
// production build. `close()` stops everything and drops the database.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { childProcessEnv, config as processConfig, loadConfig, type Config } from '@/lib/config';
import { createPool, type Pool } from '@/lib/sql';
import { closeQueueSet, createQueueSet, type QueueSet } from '@/lib/queues';
import { createProducerConnection, type Valkey } from '@/lib/valkey';
import { applyMigrations } from '@/prisma/migrate';
import { startMockProviders, type MockProviders } from '@/infra/mock-providers/start-mock-providers';
import type { InspectEntry } from '@/infra/mock-providers/provider-records';
import { createTempDatabase, type TempDatabase } from '@/tests/helpers/db-temp-database';
import { BACKGROUND_NICENESS, freePort } from '@/bench/harness/bench-stack';
import { nodeFlagsOf, STANDALONE_SERVER, WORKERS_BUNDLE } from '@/bench/harness/app-processes';
import { chaosProcess, type ChaosProcess } from './chaos-process';
import { startAofValkey, type AofValkey } from './valkey-aof-server';

/** A cold standalone server or worker takes seconds on two busy cores; a minute is a failure. */
const WEB_READY_DEADLINE_MS = 60_000;
/** What workers/main.ts logs once its workers, relay and maintenance are running. */
const WORKER_READY_LINE = '"msg":"worker started"';

/**
 * What the soak changes from production, each to fit minutes rather than hours: a SIGKILLed
 * worker's jobs come back in ~6 s (the e2e suite's lock settings), the reconciler looks every 10 s
 * (its one-minute grace is unchanged), the follow-up email goes 15 s after signup so it is sent
 * within the soak, and a hung provider costs 5 s rather than 10.
 */
export const SOAK_ENV = {
  WORKER_LOCK_DURATION_MS: '5000',
  WORKER_STALLED_INTERVAL_MS: '1000',
  RECONCILE_EVERY_MS: '10000',
  FOLLOW_UP_DELAY_MS: '15000',
  PROVIDER_TIMEOUT_MS: '5000',
} as const;

export interface ChaosStack {
  runDir: string;
  config: Config;
  database: TempDatabase;
  webUrl: string;
  adminAuthorization: string;
  valkey: AofValkey;
  web: ChaosProcess;
  workers: ChaosProcess[];
  /** The soak's own reads of the database (the invariants). */
  pool: Pool;
  queues: QueueSet;
  mocks: MockProviders;
  setFault(provider: string, fault: Record<string, unknown>): Promise<void>;
  inspect(provider: string): Promise<InspectEntry[]>;
  /** Polls /api/health until it answers (any status): the web is listening again. */
  waitForWeb(timeoutMs?: number): Promise<boolean>;
  close(options?: { keepDatabase?: boolean }): Promise<void>;
}

export function requireProductionBuild(): void {
  const missing = [STANDALONE_SERVER, WORKERS_BUNDLE].filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(`${missing.join(' and ')} missing: the chaos soak runs the production build, so run \`npm run build\` first`);
  }
}

/** The folders whose code the build holds; a file changed after the build is not what runs. */
const BUILT_SOURCES = ['app', 'lib', 'workers', 'prisma', 'proxy.ts', 'instrumentation.ts'];

export interface BuildFreshness {
  builtAt: string;
  /** The newest source file changed after the build, if any: the soak then tests older code. */
  newerSource?: { file: string; changedAt: string };
}

export function buildFreshness(): BuildFreshness {
  const builtAt = Math.min(statSync(join('.next', 'BUILD_ID')).mtimeMs, statSync(WORKERS_BUNDLE).mtimeMs);
  let newest: { file: string; at: number } | undefined;
  const visit = (path: string) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) if (entry !== 'generated' && entry !== 'node_modules') visit(join(path, entry));
    } else if (/\.(ts|tsx|sql|lua|css)$/.test(path) && !path.endsWith('.test.ts') && stat.mtimeMs > (newest?.at ?? builtAt)) {
      newest = { file: path, at: stat.mtimeMs };
    }
  };
  for (const source of BUILT_SOURCES) if (existsSync(source)) visit(source);
  return {
    builtAt: new Date(builtAt).toISOString(),
    ...(newest ? { newerSource: { file: newest.file, changedAt: new Date(newest.at).toISOString() } } : {}),
  };
}

export async function startChaosStack({ workers, runDir, elapsedMs }: { workers: number; runDir: string; elapsedMs: () => number }): Promise<ChaosStack> {
  requireProductionBuild();
  mkdirSync(runDir, { recursive: true });
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await Promise.resolve()
        .then(cleanup)
        .catch((error: unknown) => console.error('[chaos] cleanup failed:', error instanceof Error ? error.message : error));
    }
  };
  try {
    const valkey = await startAofValkey(await freePort(), join(runDir, 'valkey'));
    cleanups.push(() => valkey.kill());
    const database = await createTempDatabase(processConfig().databaseUrl, 'signup_chaos');
    let keepDatabase = false;
    cleanups.push(() => (keepDatabase ? undefined : database.drop()));
    await applyMigrations(database.url);
    const mocks = await startMockProviders({ httpPort: 0, smtpPort: 0 });
    cleanups.push(() => mocks.close());
    const mocksUrl = `http://127.0.0.1:${mocks.httpPort}`;

    const webPort = await freePort();
    const webUrl = `http://127.0.0.1:${webPort}`;
    const config = loadConfig({
      ...childProcessEnv(processConfig()),
      ...SOAK_ENV,
      QUEUE_PREFIX: 'chaos',
      VALKEY_URL: valkey.url,
      // The soak's own server, never a cluster the calling shell may name.
      VALKEY_CLUSTER_NODES: '',
      DATABASE_URL: database.url,
      MOCKS_HOST: '127.0.0.1',
      MOCKS_HTTP_PORT: String(mocks.httpPort),
      MOCKS_SMTP_PORT: String(mocks.smtpPort),
      PORT: String(webPort),
      APP_URL: webUrl,
      NODE_ENV: 'production',
    });
    const env = { ...childProcessEnv(config), ...SOAK_ENV, NODE_ENV: 'production' };
    const adminPassword = randomBytes(12).toString('base64url');
    const stopDeadlineMs = config.workerShutdownDeadlineMs + 5_000;

    const web = chaosProcess(
      {
        name: 'web',
        args: [...nodeFlagsOf('web'), STANDALONE_SERVER],
        env: {
          ...env,
          HOSTNAME: '127.0.0.1',
          ADMIN_USER: 'admin',
          ADMIN_PASSWORD: adminPassword,
          SESSION_SECRET: randomBytes(32).toString('base64url'),
          // The load comes from one address; the limits are not what the soak tests.
          SIGNUP_RATE_LIMIT_PER_MINUTE: '0',
        },
        logFile: join(runDir, 'web.log'),
        stopDeadlineMs,
      },
      elapsedMs,
    );
    cleanups.push(() => web.stop());
    const workerProcesses = Array.from({ length: workers }, (_, index) =>
      chaosProcess(
        {
          name: `worker-${index}`,
          // --supervised: a restart during an outage waits it out instead of exiting.
          args: [...nodeFlagsOf('workers'), WORKERS_BUNDLE, '--supervised'],
          // 0: no metrics server, so the workers can run side by side.
          env: { ...env, WORKER_METRICS_PORT: '0' },
          logFile: join(runDir, `worker-${index}.log`),
          niceness: BACKGROUND_NICENESS,
          stopDeadlineMs,
        },
        elapsedMs,
      ),
    );
    for (const worker of workerProcesses) cleanups.push(() => worker.stop());

    const pool = createPool(database.url, { maxConnections: 4 });
    // A refused or terminated connection is one of the soak's faults, not a crash of the soak.
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    const producer: Valkey = createProducerConnection(valkey.url);
    producer.on('error', () => undefined);
    cleanups.push(() => producer.disconnect());
    const queues = createQueueSet(producer, config.queuePrefix);
    cleanups.push(() => closeQueueSet(queues));

    const waitForWeb = async (timeoutMs = WEB_READY_DEADLINE_MS) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const answer = await fetch(`${webUrl}/api/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
        if (answer) return true;
        await sleep(200);
      }
      return false;
    };

    for (const worker of workerProcesses) worker.start();
    web.start();
    if (!(await waitForWeb())) throw new Error(`the web did not answer within ${WEB_READY_DEADLINE_MS / 1_000} s; see ${join(runDir, 'web.log')}`);
    // The load starts once every worker serves its queues, so the first faults meet a working stack.
    for (const [index] of workerProcesses.entries()) {
      const logFile = join(runDir, `worker-${index}.log`);
      const deadline = Date.now() + WEB_READY_DEADLINE_MS;
      while (!readFileSync(logFile, 'utf8').includes(WORKER_READY_LINE)) {
        if (Date.now() > deadline) throw new Error(`worker-${index} did not start within ${WEB_READY_DEADLINE_MS / 1_000} s; see ${logFile}`);
        await sleep(200);
      }
    }

    return {
      runDir,
      config,
      database,
      webUrl,
      adminAuthorization: `Basic ${Buffer.from(`admin:${adminPassword}`).toString('base64')}`,
      valkey,
      web,
      workers: workerProcesses,
      pool,
      queues,
      mocks,
      async setFault(provider, fault) {
        const response = await fetch(`${mocksUrl}/__faults/${provider}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(fault),
        });
        if (!response.ok) throw new Error(`fault ${provider}: ${response.status} ${await response.text()}`);
      },
      async inspect(provider) {
        const response = await fetch(`${mocksUrl}/__inspect/${provider}`);
        if (!response.ok) throw new Error(`inspect ${provider}: ${response.status}`);
        return (await response.json()) as InspectEntry[];
      },
      waitForWeb,
      async close(options = {}) {
        keepDatabase = options.keepDatabase === true;
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * PostgreSQL refusing the soak's database, and only it: the machine's server is shared, so it is
 * never restarted. New connections to the database are refused and every open one is ended, which
 * is what clients see of a restart; the other databases go on as before.
 */
export async function refusePostgres(databaseUrl: string, database: string): Promise<void> {
  await onMaintenanceDatabase(databaseUrl, async (client) => {
    await client.query(`ALTER DATABASE ${pg.escapeIdentifier(database)} ALLOW_CONNECTIONS false`);
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
  });
}

export async function allowPostgres(databaseUrl: string, database: string): Promise<void> {
  await onMaintenanceDatabase(databaseUrl, (client) => client.query(`ALTER DATABASE ${pg.escapeIdentifier(database)} ALLOW_CONNECTIONS true`));
}

async function onMaintenanceDatabase(databaseUrl: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
