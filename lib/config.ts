// The process's configuration: parsed once from the environment, with defaults, and the only
// module that reads process.env (docs/operations.md lists the variables). Everything else receives a
// Config or calls config().
import { z } from 'zod';

export const QUEUE_NAMES = ['email', 'crm', 'avatar', 'analytics'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export interface ValkeyNode {
  host: string;
  port: number;
}

/**
 * Where Valkey is: one server's URL, or a cluster's seed nodes. In cluster mode the URL still
 * supplies what every node shares (user, password, `rediss:` for TLS), as a managed cluster's
 * endpoint does. lib/valkey.ts opens connections to it.
 */
export interface ValkeyTarget {
  url: string;
  clusterNodes?: readonly ValkeyNode[];
}

function valkeyTarget(url: string, clusterNodes: ValkeyNode[] | undefined): ValkeyTarget {
  return clusterNodes ? { url, clusterNodes } : { url };
}

/** VALKEY_CLUSTER_NODES' value: `host:port` pairs separated by commas; IPv6 hosts in brackets. */
export function parseClusterNodes(list: string): ValkeyNode[] {
  const nodes = list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(entry);
      const port = Number(match?.[2]);
      if (!match?.[1] || port < 1 || port > 65_535) throw new Error(`"${entry}" is not host:port`);
      return { host: match[1].replace(/^\[|\]$/g, ''), port };
    });
  if (nodes.length === 0) throw new Error('no nodes given');
  return nodes;
}

export function formatClusterNodes(nodes: readonly ValkeyNode[]): string {
  return nodes.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',');
}

const port = z.coerce.number().int().min(1).max(65_535);
const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    DATABASE_URL: z.string().url().default('postgresql://postgres:postgres@127.0.0.1:5432/signup'),
    VALKEY_URL: z.preprocess(emptyAsUndefined, z.string().url().optional()),
    REDIS_URL: z.preprocess(emptyAsUndefined, z.string().url().optional()),
    // Seed nodes of a Valkey Cluster (`host:port,host:port,…`); when set, every connection is a
    // cluster connection and VALKEY_URL supplies only the nodes' shared user, password and TLS.
    VALKEY_CLUSTER_NODES: z.preprocess(emptyAsUndefined, z.string().optional()).transform((list, ctx) => {
      if (list === undefined) return undefined;
      try {
        return parseClusterNodes(list);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `${(error as Error).message}; expected a comma list of host:port` });
        return z.NEVER;
      }
    }),
    // Every BullMQ key starts with `${QUEUE_PREFIX}:{queue}`; tests use their own prefix.
    QUEUE_PREFIX: z
      .string()
      .regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and hyphens')
      .default('signup'),
    PORT: port.default(3000),
    MOCKS_HTTP_PORT: port.default(4010),
    MOCKS_SMTP_PORT: port.default(2525),
    MOCKS_HOST: z.string().min(1).default('127.0.0.1'),
    ADMIN_USER: z.string().min(1).default('admin'),
    ADMIN_PASSWORD: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
    WORKER_QUEUES: z
      .preprocess(emptyAsUndefined, z.string().optional())
      .transform((list, ctx) => {
        if (list === undefined) return [...QUEUE_NAMES];
        const names = [...new Set(list.split(',').map((name) => name.trim()).filter(Boolean))];
        const unknown = names.filter((name) => !(QUEUE_NAMES as readonly string[]).includes(name));
        if (unknown.length > 0 || names.length === 0) {
          ctx.addIssue({
            code: 'custom',
            message: `unknown queue(s) ${unknown.join(', ') || '(none given)'}; expected a comma list of ${QUEUE_NAMES.join(', ')}`,
          });
          return z.NEVER;
        }
        return names as QueueName[];
      }),
    APP_URL: z.preprocess(emptyAsUndefined, z.string().url().optional()),
    // POST /api/signups/sync, the synchronous baseline: four provider calls and an image render per
    // request, for the benchmark, the e2e suite and the demo. Off, it answers 404, so a production
    // deployment does not hand the public a way to make it call every provider.
    SYNC_BASELINE: z.enum(['on', 'off']).default('off'),
    // Per client address; 0 turns the limit off (the benchmark does, to measure the path itself).
    SIGNUP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(30),
    // Ceiling for one call to a third party: a provider that hangs costs one timeout, never a
    // stuck worker. 10 s is well above the mocks' `slow` latencies used in demos (≤ 3 s).
    PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    WORKER_SHUTDOWN_DEADLINE_MS: z.coerce.number().int().min(0).default(10_000),
    // Overrides of every queue's lock settings (start-workers.ts), for tests and demos that want a
    // crashed worker's jobs back sooner than in production.
    WORKER_LOCK_DURATION_MS: z.coerce.number().int().min(1_000).optional(),
    WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).optional(),
    // `off` lets every job hit a dead provider on its own: only for measuring what breakers save.
    CIRCUIT_BREAKERS: z.enum(['on', 'off']).default('on'),
    ALERT_WEBHOOK_URL: z.preprocess(emptyAsUndefined, z.string().url().optional()),
    // Dead letters grouped into one alert per window (a burst of 1,000 is one alert).
    ALERT_WINDOW_MS: z.coerce.number().int().min(100).default(30_000),
    // Replays enter the queue at most this fast, per replay request, like SQS redrive velocity.
    REPLAY_PER_SECOND: z.coerce.number().positive().default(10),
    // How often the reconciler compares PostgreSQL with the queues (workers/maintenance/reconciler.ts); 0 turns
    // it off, for processes that share a database with others' queues (the test suite's workers).
    RECONCILE_EVERY_MS: z.coerce.number().int().min(0).default(60_000),
    // Where traces go (OTLP over HTTP, e.g. http://otel-collector:4318); unset: no tracing.
    OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess(emptyAsUndefined, z.string().url().optional()),
    // When set, /api/metrics and the workers' /metrics answer only `Authorization: Bearer <token>`;
    // when unset they answer anyone, so they must then be reachable only from inside the network.
    METRICS_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(16, 'at least 16 characters').optional()),
    // Where a worker process serves its own /metrics (workers/runtime/metrics-server.ts); 0 turns it off.
    // 9464 is OpenTelemetry's Prometheus exporter default, a port operators already expect. Several
    // worker processes on one host need one port each (each compose container has its own network).
    WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9464),
    // When the "getting started" email goes out after a signup: three days, long enough for the
    // user to have tried the product, soon enough to still be remembered. The demo sets seconds.
    FOLLOW_UP_DELAY_MS: z.coerce.number().int().min(0).default(3 * 24 * 60 * 60 * 1_000),
    // Load shedding at the producer (app/_signup/analytics-shedding.ts): above this many analytics
    // jobs waiting, only ANALYTICS_SHED_KEEP_RATIO of new signup events are kept. 10,000 is about a
    // minute of the analytics queue's rate (160/s): an event later than that is worth little, and
    // the backlog's memory is bounded. 0 turns shedding off. Email and CRM work is never shed.
    ANALYTICS_SHED_DEPTH: z.coerce.number().int().min(0).default(10_000),
    ANALYTICS_SHED_KEEP_RATIO: z.coerce.number().min(0).max(1).default(0.1),
    // Connections per process (the arithmetic: docs/backpressure.md, "Database connections"):
    // handlers hold a connection only for their short queries, never across a provider call.
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
    // debug adds a line per signup and per job (lib/log.ts).
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  })
  .transform((env) => ({
    nodeEnv: env.NODE_ENV,
    databaseUrl: env.DATABASE_URL,
    valkey: valkeyTarget(env.VALKEY_URL ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379', env.VALKEY_CLUSTER_NODES),
    queuePrefix: env.QUEUE_PREFIX,
    port: env.PORT,
    appUrl: (env.APP_URL ?? `http://127.0.0.1:${env.PORT}`).replace(/\/+$/, ''),
    admin: { user: env.ADMIN_USER, password: env.ADMIN_PASSWORD },
    workerQueues: env.WORKER_QUEUES,
    workerShutdownDeadlineMs: env.WORKER_SHUTDOWN_DEADLINE_MS,
    lockOverrides: { lockDurationMs: env.WORKER_LOCK_DURATION_MS, stalledIntervalMs: env.WORKER_STALLED_INTERVAL_MS },
    circuitBreakers: env.CIRCUIT_BREAKERS === 'on',
    syncBaseline: env.SYNC_BASELINE === 'on',
    alerts: { webhookUrl: env.ALERT_WEBHOOK_URL, windowMs: env.ALERT_WINDOW_MS },
    replayPerSecond: env.REPLAY_PER_SECOND,
    reconcileEveryMs: env.RECONCILE_EVERY_MS,
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
    metrics: { token: env.METRICS_TOKEN, workerPort: env.WORKER_METRICS_PORT },
    signupRateLimitPerMinute: env.SIGNUP_RATE_LIMIT_PER_MINUTE,
    followUpDelayMs: env.FOLLOW_UP_DELAY_MS,
    analyticsShedding: { depth: env.ANALYTICS_SHED_DEPTH, keepRatio: env.ANALYTICS_SHED_KEEP_RATIO },
    databasePoolSize: env.DATABASE_POOL_SIZE,
    logLevel: env.LOG_LEVEL,
    mocks: {
      host: env.MOCKS_HOST,
      httpPort: env.MOCKS_HTTP_PORT,
      smtpPort: env.MOCKS_SMTP_PORT,
    },
    providers: {
      timeoutMs: env.PROVIDER_TIMEOUT_MS,
      httpBaseUrl: `http://${env.MOCKS_HOST}:${env.MOCKS_HTTP_PORT}`,
      smtp: { host: env.MOCKS_HOST, port: env.MOCKS_SMTP_PORT },
    },
  }));

export type Config = z.output<typeof envSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The shortest ADMIN_PASSWORD a production web server accepts. It guards the whole admin area
 * (dead-letter replay, invitations for any workspace, the queues' controls), and only the login
 * throttle stands between it and an online guess; 16 random characters are out of reach of that.
 */
export const MIN_ADMIN_PASSWORD_LENGTH = 16;

/** Why the admin password cannot guard a production admin area, or undefined when it can. */
export function adminPasswordProblem(password: string | undefined): string | undefined {
  if (!password) {
    return 'ADMIN_PASSWORD is not set. The admin area (/admin, /api/admin) needs it in production; set ADMIN_PASSWORD (and ADMIN_USER, default "admin") and start again.';
  }
  if ([...password].length < MIN_ADMIN_PASSWORD_LENGTH) {
    return `ADMIN_PASSWORD is ${[...password].length} characters long; it must be at least ${MIN_ADMIN_PASSWORD_LENGTH}. A generated one: openssl rand -base64 18`;
  }
  return undefined;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/**
 * The environment that reproduces `config` in a child process (BullMQ's sandboxed processors run in
 * one): lets a parent whose settings came from code, as in tests, hand them down.
 */
export function childProcessEnv(config: Config): Record<string, string> & { NODE_ENV: Config['nodeEnv'] } {
  const inherited = ['PATH', 'HOME', 'TMPDIR', 'LANG'].flatMap((key) => {
    const value = process.env[key];
    return value === undefined ? [] : [[key, value] as const];
  });
  return {
    ...Object.fromEntries(inherited),
    NODE_ENV: config.nodeEnv,
    DATABASE_URL: config.databaseUrl,
    DATABASE_POOL_SIZE: String(config.databasePoolSize),
    VALKEY_URL: config.valkey.url,
    ...(config.valkey.clusterNodes ? { VALKEY_CLUSTER_NODES: formatClusterNodes(config.valkey.clusterNodes) } : {}),
    QUEUE_PREFIX: config.queuePrefix,
    PORT: String(config.port),
    APP_URL: config.appUrl,
    MOCKS_HOST: config.mocks.host,
    MOCKS_HTTP_PORT: String(config.mocks.httpPort),
    MOCKS_SMTP_PORT: String(config.mocks.smtpPort),
    PROVIDER_TIMEOUT_MS: String(config.providers.timeoutMs),
    CIRCUIT_BREAKERS: config.circuitBreakers ? 'on' : 'off',
    SYNC_BASELINE: config.syncBaseline ? 'on' : 'off',
  };
}

let processConfig: Config | undefined;

/** The configuration of this process, parsed on first use. */
export function config(): Config {
  processConfig ??= loadConfig();
  return processConfig;
}
