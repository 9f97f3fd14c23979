// Before a command that needs PostgreSQL and Valkey starts (npm start, npm run workers, npm test,
// npm run e2e): are they there? A missing one is told in one short paragraph: what is missing,
// which variable points at it, and one command that starts one. Without this the first sign was
// a raw ECONNREFUSED stack trace that named neither the service nor the variable, or, with Valkey
// down, a stack that looked healthy while jobs piled up in the outbox.
//
// Each check has its own short deadline and gives up at once on a refused connection, so a
// healthy machine pays a few milliseconds.
import pg from 'pg';
import { Redis } from 'ioredis';
import type { Config } from '@/lib/config';

/** A server that is up answers a local connection in milliseconds; 3 s covers a slow container. */
const CHECK_TIMEOUT_MS = 3_000;

/** One command that starts each, shown when it is missing. */
const START_POSTGRES = [
  'docker run -d --name signup-postgres -p 127.0.0.1:5432:5432 -e POSTGRES_PASSWORD=postgres postgres:17',
  'or, on Debian or Ubuntu: sudo apt-get install postgresql',
];
const START_VALKEY = [
  'docker run -d --name signup-valkey -p 127.0.0.1:6379:6379 valkey/valkey:8 --appendonly yes --maxmemory-policy noeviction',
  'or, on Debian or Ubuntu: sudo apt-get install redis-server (Redis 7 works as well)',
];

/** The paragraphs for whatever is missing, or none when both answer. */
export async function missingServices(settings: Pick<Config, 'databaseUrl' | 'valkey'>): Promise<string[]> {
  const [postgres, valkey] = await Promise.all([postgresProblem(settings.databaseUrl), valkeyProblem(settings.valkey)]);
  return [postgres, valkey].filter((problem): problem is string => problem !== undefined);
}

async function postgresProblem(databaseUrl: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: CHECK_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // The server answered: a database not created yet is made by the migrations (npm start) or the
    // test setup, so the server is all that is needed here.
    if (code === '3D000') return undefined;
    const where = `${hostOf(databaseUrl)} (DATABASE_URL=${withoutPassword(databaseUrl)})`;
    if (code === '28P01' || code === '28000') {
      return paragraph(`PostgreSQL at ${where} refused the user and password in DATABASE_URL.`, [
        'Set DATABASE_URL to a user that may log in, e.g. postgresql://postgres:postgres@127.0.0.1:5432/signup',
      ]);
    }
    return paragraph(`PostgreSQL is not answering at ${where}: ${reason(error)}.`, [
      ...START_POSTGRES,
      'or set DATABASE_URL to one that runs.',
    ]);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function valkeyProblem(target: Config['valkey']): Promise<string | undefined> {
  const seed = target.clusterNodes?.[0];
  const url = new URL(target.url);
  const redis = new Redis(target.url, {
    ...(seed ? { host: seed.host, port: seed.port } : {}),
    lazyConnect: true,
    connectTimeout: CHECK_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The socket's own error (ECONNREFUSED) says more than the "Connection is closed" connect() rejects with.
  let socketError: unknown;
  redis.on('error', (error) => (socketError ??= error));
  const variable = seed ? 'VALKEY_CLUSTER_NODES' : 'VALKEY_URL';
  const where = seed ? `${seed.host}:${seed.port} (VALKEY_CLUSTER_NODES)` : `${url.host} (VALKEY_URL=${withoutPassword(target.url)})`;
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (rejection) {
    const error = socketError ?? rejection;
    if (/NOAUTH|WRONGPASS/.test(reason(error))) {
      return paragraph(`Valkey at ${where} refused the password in VALKEY_URL.`, ['Put the right one in VALKEY_URL: redis://:<password>@host:port']);
    }
    return paragraph(`Valkey is not answering at ${where}: ${reason(error)}.`, [...START_VALKEY, `or set ${variable} to one that runs.`]);
  } finally {
    redis.disconnect();
  }
}

function paragraph(first: string, rest: string[]): string {
  return [first, ...rest.map((line) => `  ${line}`)].join('\n');
}

function reason(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'no such host';
  const message = (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
  return /timeout|timed out/i.test(message) ? `no answer within ${CHECK_TIMEOUT_MS / 1_000} s` : message;
}

function hostOf(url: string): string {
  return URL.canParse(url) ? new URL(url).host : url;
}

/** The URL as it can be printed: its password replaced. */
function withoutPassword(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export interface ValkeyWatch {
  stop(): void;
}

/**
 * Pings Valkey every `everyMs` on a connection of its own, and says so through `report` each time
 * it finds it down (so a person watching the output sees it every few seconds, not once) and once
 * when it is back. For `npm start`, whose processes otherwise show an outage only as JSON warnings
 * while signups keep being accepted and their jobs wait in the outbox.
 */
export function watchValkey(
  target: Config['valkey'],
  everyMs: number,
  report: (event: { state: 'down'; reason: string; downForMs: number } | { state: 'back'; downForMs: number }) => void,
): ValkeyWatch {
  const seed = target.clusterNodes?.[0];
  const redis = new Redis(target.url, {
    ...(seed ? { host: seed.host, port: seed.port } : {}),
    connectTimeout: CHECK_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    // Reconnects on its own; each tick's PING tells whether it has.
    retryStrategy: () => Math.min(everyMs, 1_000),
  });
  redis.on('error', () => undefined);
  let downSince: number | undefined;
  let stopped = false;
  const tick = async () => {
    try {
      await Promise.race([
        redis.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS / 1_000} s`)), CHECK_TIMEOUT_MS).unref()),
      ]);
      if (downSince !== undefined && !stopped) report({ state: 'back', downForMs: Date.now() - downSince });
      downSince = undefined;
    } catch (error) {
      downSince ??= Date.now();
      if (!stopped) report({ state: 'down', reason: reason(error), downForMs: Date.now() - downSince });
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      redis.disconnect();
    },
  };
}
