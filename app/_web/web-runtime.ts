// The web process's setup, in one place: its long-lived dependencies, created on first use and
// shared by every route, page and server action. The database pool; the fail-fast producer
// connection with its queues; each queue's breaker, read for the health page; the rate budgets
// every replica shares, with the signup limiter over them; the analytics shedder (one per process,
// so its backlog reading is shared by every signup); the outbox's batch of dispatched marks; the synchronous baseline's handler
// context; and the settings the admin routes need. Route files pass webRuntime() to a plain
// Request → Response function, which takes the part it needs.
import 'server-only';
import type { AdminCredentials } from '@/app/_admin/auth/admin-auth';
import { AnalyticsShedder } from '@/app/_signup/analytics-shedding';
import { RateLimiter } from '@/app/_signup/rate-limiter';
import { CircuitBreaker } from '@/lib/circuit-breaker';
import { config } from '@/lib/config';
import { db, pool, type Db } from '@/lib/db';
import { createLogger, type Logger } from '@/lib/log';
import { metrics } from '@/lib/metrics';
import { DispatchMarks } from '@/lib/outbox';
import { createQueueSet, QUEUE_NAMES, QUEUE_PROVIDERS, type QueueName, type QueueSet } from '@/lib/queues';
import { SharedBudgets } from '@/lib/rate-budgets';
import type { Pool } from '@/lib/sql';
import { createProducerConnection, type Valkey } from '@/lib/valkey';
import { createSyncBaseline, type SyncBaseline } from '@/workers/jobs/sync-baseline';

export interface WebRuntime {
  /** The process's PostgreSQL connections: the signup's paths use them in plain SQL (lib/sql.ts). */
  pool: Pool;
  /** Prisma over the same pool, for the admin's reads. */
  db: Db;
  /** Fail-fast producer connection (lib/valkey.ts). */
  valkey: Valkey;
  queues: QueueSet;
  /** Each queue's provider breaker, over the producer connection: the health page reads snapshots. */
  breakers: Readonly<Record<QueueName, CircuitBreaker>>;
  /**
   * Rate budgets in Valkey, shared by every web replica (lib/rate-budgets.ts): the signup limiter
   * spends from them; `budgets.take(name, [{ key, limit, windowMs }], now?)` for any other.
   */
  budgets: SharedBudgets;
  limiter: RateLimiter;
  log: Logger;
  syncBaseline: SyncBaseline;
  followUpDelayMs: number;
  shedder: AnalyticsShedder;
  /** The signups' dispatched marks, written together behind the answers (lib/outbox.ts). */
  marks: DispatchMarks;
  admin: AdminCredentials;
  replayPerSecond: number;
  /** The mock providers' HTTP base, for the admin's fault panel. */
  mocksUrl: string;
  /** MOCKS_TOKEN, which the fault panel sends to the mocks when set. */
  mocksToken: string | undefined;
}

// Kept on globalThis so Next's dev reloads reuse one set of connections.
const holder = globalThis as typeof globalThis & { __signupWebRuntime?: WebRuntime };

export function webRuntime(): WebRuntime {
  if (!holder.__signupWebRuntime) {
    const settings = config();
    const connections = pool();
    const database = db();
    const log = createLogger('web');
    const valkey = createProducerConnection(settings.valkey, log);
    const queues = createQueueSet(valkey, settings.queuePrefix);
    const budgets = new SharedBudgets({ redis: valkey, keyPrefix: settings.queuePrefix, onFallback: () => metrics().rateBudgetFallbacks.inc() });
    const breakers = Object.fromEntries(
      QUEUE_NAMES.map((queue) => [
        queue,
        new CircuitBreaker({ redis: valkey, provider: QUEUE_PROVIDERS[queue], keyPrefix: settings.queuePrefix }),
      ]),
    ) as Record<QueueName, CircuitBreaker>;
    holder.__signupWebRuntime = {
      pool: connections,
      db: database,
      valkey,
      queues,
      breakers,
      budgets,
      limiter: new RateLimiter(settings.signupRateLimitPerMinute, { globalPerMinute: settings.signupGlobalRateLimitPerMinute, budgets }),
      log,
      syncBaseline: createSyncBaseline(settings, connections),
      followUpDelayMs: settings.followUpDelayMs,
      shedder: new AnalyticsShedder(queues.analytics, settings.analyticsShedding),
      marks: new DispatchMarks(connections),
      admin: settings.admin,
      replayPerSecond: settings.replayPerSecond,
      mocksUrl: settings.mocks.url,
      mocksToken: settings.mocks.token,
    };
  }
  return holder.__signupWebRuntime;
}
