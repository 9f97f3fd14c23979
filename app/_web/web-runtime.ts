// The web process's long-lived dependencies, created on first use: the database pool, the
// fail-fast producer connection with its queues, the signup rate limiter, and the handler context
// the synchronous baseline runs provider calls with, and the analytics shedder (one per process, so
// its cached backlog reading is shared by every signup). Route files take what they need from here.
import 'server-only';
import { config } from '@/lib/config';
import { db, type Db } from '@/lib/db';
import type { Valkey } from '@/lib/valkey';
import { createLogger, type Logger } from '@/lib/log';
import { createQueueSet, type QueueSet } from '@/lib/queues';
import { createProducerConnection } from '@/lib/valkey';
import { AnalyticsShedder } from '@/app/_signup/analytics-shedding';
import { RateLimiter } from '@/app/_signup/rate-limiter';
import { createHandlerContext, type HandlerContext } from '@/workers/jobs/handler-context';

export interface WebRuntime {
  db: Db;
  /** Fail-fast producer connection (lib/valkey.ts). */
  valkey: Valkey;
  queues: QueueSet;
  limiter: RateLimiter;
  log: Logger;
  handlerContext: HandlerContext;
  followUpDelayMs: number;
  shedder: AnalyticsShedder;
}

// Kept on globalThis so Next's dev reloads reuse one set of connections.
const holder = globalThis as typeof globalThis & { __signupWebRuntime?: WebRuntime };

export function webRuntime(): WebRuntime {
  if (!holder.__signupWebRuntime) {
    const settings = config();
    const database = db();
    const log = createLogger('web');
    const valkey = createProducerConnection(settings.valkey, log);
    const queues = createQueueSet(valkey, settings.queuePrefix);
    holder.__signupWebRuntime = {
      db: database,
      valkey,
      queues,
      limiter: new RateLimiter(settings.signupRateLimitPerMinute),
      log,
      handlerContext: createHandlerContext(settings, database),
      followUpDelayMs: settings.followUpDelayMs,
      shedder: new AnalyticsShedder(queues.analytics, settings.analyticsShedding),
    };
  }
  return holder.__signupWebRuntime;
}
