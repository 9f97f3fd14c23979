// The process's configuration: parsed once from the environment, with defaults, and the only
// module that reads process.env (docs/operations.md lists the variables). Everything else receives a
// Config or calls config().
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import {
  formatSmtpUrl,
  parseSmtpUrl,
  type HttpProviderEndpoint,
  type HttpProviderName,
  type ProviderApiKey,
} from './provider-endpoints.ts';
import { formatTenantLimits, parseTenantLimits } from './tenant-limit-settings.ts';

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
// A provider's URL: http(s) only, since the adapters speak nothing else.
const httpUrl = z
  .string()
  .url()
  .refine((value) => /^https?:$/.test(new URL(value).protocol), 'expected an http:// or https:// URL');
// A base URL the adapters append their paths to: a trailing slash is dropped so that they join cleanly.
const providerUrl = z.preprocess(emptyAsUndefined, httpUrl.transform((value) => value.replace(/\/+$/, '')).optional());
const apiKey = z.preprocess(emptyAsUndefined, z.string().optional());
// An HTTP header name (RFC 9110 token), compared lower-case as Node sends it.
const apiKeyHeader = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'an HTTP header name')
  .transform((name) => name.toLowerCase())
  .default('authorization');

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
    // Where the mock providers listen, HTTP and SMTP. Loopback keeps their control and inspect routes
    // (fault switches, every email with its links) on this machine; anywhere else needs MOCKS_TOKEN.
    MOCKS_BIND: z.string().min(1).default('127.0.0.1'),
    // When set, the mocks' control and inspect routes answer only `Authorization: Bearer <token>`,
    // and their clients (the admin's fault panel, the e2e suite) send it (infra/mock-providers/control-auth.ts).
    MOCKS_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(16, 'at least 16 characters').optional()),
    // The mocks as a provider that wants TLS and credentials, so clients meet both before a real one
    // (infra/mock-providers/main.ts): on, HTTP is HTTPS and SMTP offers STARTTLS and listens for
    // SMTPS too, with a certificate made at start and written to MOCKS_TLS_CERT_FILE for clients'
    // NODE_EXTRA_CA_CERTS. 2465 mirrors 465 as 2525 mirrors 25.
    MOCKS_TLS: z.enum(['on', 'off']).default('off'),
    MOCKS_SMTPS_PORT: port.default(2465),
    MOCKS_TLS_CERT_FILE: z.string().min(1).default(join(tmpdir(), 'signup-mocks-certificate.pem')),
    MOCKS_SMTP_USER: z.preprocess(emptyAsUndefined, z.string().optional()),
    MOCKS_SMTP_PASSWORD: z.preprocess(emptyAsUndefined, z.string().optional()),
    MOCKS_SMTP_PASSWORD_FILE: z.string().optional(),
    MOCKS_API_KEY: z.preprocess(emptyAsUndefined, z.string().optional()),
    MOCKS_API_KEY_FILE: z.string().optional(),
    ADMIN_USER: z.string().min(1).default('admin'),
    ADMIN_PASSWORD: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
    // The key of the admin session cookies (app/_admin/auth/admin-session.ts), never derived from
    // the password. A production web server refuses to start without 32 characters of it
    // (sessionSecretProblem); elsewhere an unset one is made up per process (below).
    SESSION_SECRET: z.preprocess(emptyAsUndefined, z.string().optional()),
    // Files to read ADMIN_PASSWORD, METRICS_TOKEN, SESSION_SECRET and MOCKS_TOKEN from
    // (withFileSecrets, before parsing); listed so that they are variables this module reads.
    ADMIN_PASSWORD_FILE: z.string().optional(),
    METRICS_TOKEN_FILE: z.string().optional(),
    SESSION_SECRET_FILE: z.string().optional(),
    MOCKS_TOKEN_FILE: z.string().optional(),
    // The providers (lib/provider-endpoints.ts, docs/providers.md). Unset, each points at the mock
    // providers on MOCKS_HOST and its ports, as the demo and the tests need. SMTP_URL is
    // smtp://[user@]host[:port][?starttls=required] or smtps://…; SMTP_PASSWORD (or its file)
    // replaces the URL's password. Each HTTP provider's key goes in <NAME>_API_KEY (or its file)
    // and is sent in <NAME>_API_KEY_HEADER, `Bearer <key>` when that is authorization.
    SMTP_URL: z.preprocess(emptyAsUndefined, z.string().optional()),
    SMTP_PASSWORD: z.preprocess(emptyAsUndefined, z.string().optional()),
    SMTP_PASSWORD_FILE: z.string().optional(),
    CRM_URL: providerUrl,
    CRM_API_KEY: apiKey,
    CRM_API_KEY_FILE: z.string().optional(),
    CRM_API_KEY_HEADER: apiKeyHeader,
    STORAGE_URL: providerUrl,
    STORAGE_API_KEY: apiKey,
    STORAGE_API_KEY_FILE: z.string().optional(),
    STORAGE_API_KEY_HEADER: apiKeyHeader,
    ANALYTICS_URL: providerUrl,
    ANALYTICS_API_KEY: apiKey,
    ANALYTICS_API_KEY_FILE: z.string().optional(),
    ANALYTICS_API_KEY_HEADER: apiKeyHeader,
    ALERT_WEBHOOK_API_KEY: apiKey,
    ALERT_WEBHOOK_API_KEY_FILE: z.string().optional(),
    ALERT_WEBHOOK_API_KEY_HEADER: apiKeyHeader,
    // Email over an HTTP API instead of SMTP (workers/providers/mailer.ts): POST <url>/messages
    // with the Message-ID as Idempotency-Key. Unset, email goes to SMTP_URL.
    EMAIL_API_URL: providerUrl,
    EMAIL_API_KEY: apiKey,
    EMAIL_API_KEY_FILE: z.string().optional(),
    EMAIL_API_KEY_HEADER: apiKeyHeader,
    // Per-tenant limits in the worker (lib/tenant-limit-settings.ts): `email=8,crm=2/10`.
    TENANT_LIMITS: z.string().optional().transform((text, ctx) => {
      const parsed = parseTenantLimits(text, QUEUE_NAMES);
      if ('problem' in parsed) {
        ctx.addIssue({ code: 'custom', message: parsed.problem });
        return z.NEVER;
      }
      return parsed.limits;
    }),
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
    // Per client address (lib/client-address.ts); 0 turns the signup limits off, the global one
    // included (the benchmark does, to measure the path itself).
    SIGNUP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(30),
    // Signups from everyone together, per minute, across every web replica; 0 turns it off. 2,400
    // is the CRM queue's 40/s (lib/queues.ts), the slowest of a signup's jobs: signups sustained
    // above it only grow a backlog that cannot drain faster, while a minute's worth at once passes.
    SIGNUP_GLOBAL_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(2_400),
    // How many proxies of ours stand in front of the web and append to X-Forwarded-For; 0: the
    // header is ignored and the socket's address is the client's (lib/client-address.ts).
    TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).default(0),
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
    // Posted to as given, with no path appended.
    ALERT_WEBHOOK_URL: z.preprocess(emptyAsUndefined, httpUrl.optional()),
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
  .transform((env, ctx) => ({
    nodeEnv: env.NODE_ENV,
    databaseUrl: env.DATABASE_URL,
    valkey: valkeyTarget(env.VALKEY_URL ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379', env.VALKEY_CLUSTER_NODES),
    queuePrefix: env.QUEUE_PREFIX,
    port: env.PORT,
    appUrl: (env.APP_URL ?? `http://127.0.0.1:${env.PORT}`).replace(/\/+$/, ''),
    admin: {
      user: env.ADMIN_USER,
      password: env.ADMIN_PASSWORD,
      sessionSecret: env.SESSION_SECRET ?? (env.NODE_ENV === 'production' ? undefined : processSessionSecret()),
    },
    workerQueues: env.WORKER_QUEUES,
    tenantLimits: env.TENANT_LIMITS,
    workerShutdownDeadlineMs: env.WORKER_SHUTDOWN_DEADLINE_MS,
    lockOverrides: { lockDurationMs: env.WORKER_LOCK_DURATION_MS, stalledIntervalMs: env.WORKER_STALLED_INTERVAL_MS },
    circuitBreakers: env.CIRCUIT_BREAKERS === 'on',
    syncBaseline: env.SYNC_BASELINE === 'on',
    alerts: {
      webhookUrl: env.ALERT_WEBHOOK_URL,
      webhookKey: providerKey(env.ALERT_WEBHOOK_API_KEY, env.ALERT_WEBHOOK_API_KEY_HEADER),
      windowMs: env.ALERT_WINDOW_MS,
    },
    replayPerSecond: env.REPLAY_PER_SECOND,
    reconcileEveryMs: env.RECONCILE_EVERY_MS,
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
    metrics: { token: env.METRICS_TOKEN, workerPort: env.WORKER_METRICS_PORT },
    signupRateLimitPerMinute: env.SIGNUP_RATE_LIMIT_PER_MINUTE,
    signupGlobalRateLimitPerMinute: env.SIGNUP_RATE_LIMIT_PER_MINUTE === 0 ? 0 : env.SIGNUP_GLOBAL_RATE_LIMIT_PER_MINUTE,
    trustedProxyHops: env.TRUSTED_PROXY_HOPS,
    followUpDelayMs: env.FOLLOW_UP_DELAY_MS,
    analyticsShedding: { depth: env.ANALYTICS_SHED_DEPTH, keepRatio: env.ANALYTICS_SHED_KEEP_RATIO },
    databasePoolSize: env.DATABASE_POOL_SIZE,
    logLevel: env.LOG_LEVEL,
    mocks: {
      /** The mocks' HTTP base, for their control and inspect routes; each provider's own URL is in providers. */
      url: mocksHttpUrl(env),
      host: env.MOCKS_HOST,
      bind: env.MOCKS_BIND,
      httpPort: env.MOCKS_HTTP_PORT,
      smtpPort: env.MOCKS_SMTP_PORT,
      token: env.MOCKS_TOKEN,
      tls: env.MOCKS_TLS === 'on' ? { smtpsPort: env.MOCKS_SMTPS_PORT, certFile: env.MOCKS_TLS_CERT_FILE } : undefined,
      smtpAuth: mocksSmtpAuth(env, ctx),
      apiKey: env.MOCKS_API_KEY,
    },
    providers: {
      timeoutMs: env.PROVIDER_TIMEOUT_MS,
      crm: httpEndpoint(env.CRM_URL, 'crm', env, env.CRM_API_KEY, env.CRM_API_KEY_HEADER),
      storage: httpEndpoint(env.STORAGE_URL, 'storage', env, env.STORAGE_API_KEY, env.STORAGE_API_KEY_HEADER),
      analytics: httpEndpoint(env.ANALYTICS_URL, 'analytics', env, env.ANALYTICS_API_KEY, env.ANALYTICS_API_KEY_HEADER),
      smtp: smtpEndpoint(env, ctx),
      emailApi: env.EMAIL_API_URL === undefined ? undefined : httpEndpointAt(env.EMAIL_API_URL, env.EMAIL_API_KEY, env.EMAIL_API_KEY_HEADER),
    },
  }));

type MockAddress = { MOCKS_HOST: string; MOCKS_HTTP_PORT: number; MOCKS_SMTP_PORT: number; MOCKS_TLS: 'on' | 'off' };

function mocksHttpUrl(mocks: MockAddress): string {
  return `${mocks.MOCKS_TLS === 'on' ? 'https' : 'http'}://${mocks.MOCKS_HOST}:${mocks.MOCKS_HTTP_PORT}`;
}

/** Where the mock providers serve `provider`: every provider's default. */
export function mockProviderUrl(mocks: MockAddress, provider: Exclude<HttpProviderName, 'alerts'>): string {
  return `${mocksHttpUrl(mocks)}/${provider}`;
}

function mockSmtpUrl(mocks: MockAddress): string {
  return `smtp://${mocks.MOCKS_HOST}:${mocks.MOCKS_SMTP_PORT}`;
}

function providerKey(value: string | undefined, header: string): ProviderApiKey | undefined {
  return value === undefined ? undefined : { header, value };
}

function httpEndpoint(
  url: string | undefined,
  provider: Exclude<HttpProviderName, 'alerts'>,
  mocks: MockAddress,
  key: string | undefined,
  header: string,
): HttpProviderEndpoint {
  return httpEndpointAt(url ?? mockProviderUrl(mocks, provider), key, header);
}

function httpEndpointAt(url: string, key: string | undefined, header: string): HttpProviderEndpoint {
  const apiKey = providerKey(key, header);
  return { url, ...(apiKey ? { apiKey } : {}) };
}

function mocksSmtpAuth(env: { MOCKS_SMTP_USER?: string; MOCKS_SMTP_PASSWORD?: string }, ctx: z.RefinementCtx) {
  const { MOCKS_SMTP_USER: user, MOCKS_SMTP_PASSWORD: password } = env;
  if (user === undefined && password === undefined) return undefined;
  if (user === undefined || password === undefined) {
    ctx.addIssue({ code: 'custom', path: ['MOCKS_SMTP_USER'], message: 'MOCKS_SMTP_USER and MOCKS_SMTP_PASSWORD go together' });
    return z.NEVER;
  }
  return { user, password };
}

function smtpEndpoint(env: MockAddress & { SMTP_URL?: string; SMTP_PASSWORD?: string }, ctx: z.RefinementCtx) {
  try {
    return parseSmtpUrl(env.SMTP_URL ?? mockSmtpUrl(env), env.SMTP_PASSWORD);
  } catch (error) {
    ctx.addIssue({ code: 'custom', path: ['SMTP_URL'], message: (error as Error).message });
    return z.NEVER;
  }
}

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

/**
 * The shortest SESSION_SECRET a production web server accepts: 32 random characters (openssl rand
 * -base64 32 gives 44) are well past 128 bits, so a leaked cookie's MAC cannot be used to guess it.
 */
export const MIN_SESSION_SECRET_LENGTH = 32;

/** Why the session secret cannot sign production admin sessions, or undefined when it can. */
export function sessionSecretProblem(secret: string | undefined, password?: string): string | undefined {
  if (!secret) {
    return 'SESSION_SECRET is not set. It signs the admin session cookies in production; set it to at least 32 random characters (openssl rand -base64 32) and start again.';
  }
  if ([...secret].length < MIN_SESSION_SECRET_LENGTH) {
    return `SESSION_SECRET is ${[...secret].length} characters long; it must be at least ${MIN_SESSION_SECRET_LENGTH}. A generated one: openssl rand -base64 32`;
  }
  if (secret === password) {
    return 'SESSION_SECRET is the same as ADMIN_PASSWORD; it must be a separate secret, so that a leaked session cookie says nothing about the password. A generated one: openssl rand -base64 32';
  }
  return undefined;
}

/**
 * Why a web server must not start with these settings, or undefined when it may: in production,
 * a missing or weak admin password or session secret (instrumentation.ts exits with the sentence).
 */
export function webStartProblem(settings: Config): string | undefined {
  if (settings.nodeEnv !== 'production') return undefined;
  return adminPasswordProblem(settings.admin.password) ?? sessionSecretProblem(settings.admin.sessionSecret, settings.admin.password);
}

/** The secrets that may come from a file named by `<NAME>_FILE` instead of the variable itself. */
const FILE_SECRETS = [
  'ADMIN_PASSWORD',
  'METRICS_TOKEN',
  'SESSION_SECRET',
  'MOCKS_TOKEN',
  'MOCKS_SMTP_PASSWORD',
  'MOCKS_API_KEY',
  'SMTP_PASSWORD',
  'CRM_API_KEY',
  'STORAGE_API_KEY',
  'ANALYTICS_API_KEY',
  'ALERT_WEBHOOK_API_KEY',
  'EMAIL_API_KEY',
] as const;

/**
 * `env` with each `<NAME>_FILE` read into `<NAME>`, as the official PostgreSQL image reads
 * POSTGRES_PASSWORD_FILE: a Docker or Kubernetes secret mounted as a file then never sits in the
 * process's environment. Trailing newlines are dropped, as that image's shell does; the plain
 * variable, when set, wins.
 */
function withFileSecrets(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const resolved = { ...env };
  for (const name of FILE_SECRETS) {
    const file = env[`${name}_FILE`];
    if (!file || env[name]) continue;
    try {
      resolved[name] = readFileSync(file, 'utf8').replace(/(\r?\n)+$/, '');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ConfigError(`invalid environment: ${name}_FILE: cannot read ${file} (${reason})`, { cause: error });
    }
  }
  return resolved;
}

// Outside production an unset SESSION_SECRET is replaced by random bytes made once per process,
// never by anything derived from the password: admin sessions then end when the process restarts,
// which development and tests can afford. On globalThis because Next bundles this module apart
// into the proxy, the pages and the route handlers of one process, and they must share one key.
const secretHolder = globalThis as typeof globalThis & { __signupProcessSessionSecret?: string };

function processSessionSecret(): string {
  secretHolder.__signupProcessSessionSecret ??= randomBytes(32).toString('base64url');
  return secretHolder.__signupProcessSessionSecret;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(withFileSecrets(env));
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
  // NODE_EXTRA_CA_CERTS: a private CA the providers' certificates chain to must be trusted there too.
  const inherited = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'NODE_EXTRA_CA_CERTS'].flatMap((key) => {
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
    MOCKS_TLS: config.mocks.tls ? 'on' : 'off',
    ...providerEnv(config),
    PROVIDER_TIMEOUT_MS: String(config.providers.timeoutMs),
    CIRCUIT_BREAKERS: config.circuitBreakers ? 'on' : 'off',
    TENANT_LIMITS: formatTenantLimits(config.tenantLimits, QUEUE_NAMES),
    SYNC_BASELINE: config.syncBaseline ? 'on' : 'off',
    // The avatar sandbox traces its render into the same collector as its parent.
    ...(config.otlpEndpoint ? { OTEL_EXPORTER_OTLP_ENDPOINT: config.otlpEndpoint } : {}),
  };
}

/**
 * The provider settings that differ from their defaults. A default is left to follow MOCKS_HOST
 * and its ports in the child, so a caller that moves the mocks for a child moves its providers too.
 */
function providerEnv({ mocks, providers, alerts }: Config): Record<string, string> {
  const address = {
    MOCKS_HOST: mocks.host,
    MOCKS_HTTP_PORT: mocks.httpPort,
    MOCKS_SMTP_PORT: mocks.smtpPort,
    MOCKS_TLS: mocks.tls ? ('on' as const) : ('off' as const),
  };
  const env: Record<string, string> = {};
  const http = [
    ['CRM_URL', 'CRM_API_KEY', providers.crm, mockProviderUrl(address, 'crm')],
    ['STORAGE_URL', 'STORAGE_API_KEY', providers.storage, mockProviderUrl(address, 'storage')],
    ['ANALYTICS_URL', 'ANALYTICS_API_KEY', providers.analytics, mockProviderUrl(address, 'analytics')],
    ['ALERT_WEBHOOK_URL', 'ALERT_WEBHOOK_API_KEY', { url: alerts.webhookUrl, apiKey: alerts.webhookKey }, undefined],
    ['EMAIL_API_URL', 'EMAIL_API_KEY', { url: providers.emailApi?.url, apiKey: providers.emailApi?.apiKey }, undefined],
  ] as const;
  for (const [urlVariable, keyVariable, { url, apiKey }, byDefault] of http) {
    if (url !== undefined && url !== byDefault) env[urlVariable] = url;
    if (apiKey) Object.assign(env, { [keyVariable]: apiKey.value, [`${keyVariable}_HEADER`]: apiKey.header });
  }
  const smtpUrl = formatSmtpUrl(providers.smtp);
  if (smtpUrl !== mockSmtpUrl(address)) env.SMTP_URL = smtpUrl;
  if (providers.smtp.auth?.pass) env.SMTP_PASSWORD = providers.smtp.auth.pass;
  return env;
}

let processConfig: Config | undefined;

/** The configuration of this process, parsed on first use. */
export function config(): Config {
  processConfig ??= loadConfig();
  return processConfig;
}

/**
 * Reads `file` (`.env` by default) into the environment, as Node's own --env-file does: a variable
 * already set is never replaced, so the shell and CI still win. For npm start and the scripts, so
 * the settings compose reads from .env apply to them too. Returns whether there was a file.
 */
export function loadDotEnv(file = '.env'): boolean {
  if (!existsSync(file)) return false;
  process.loadEnvFile(file);
  processConfig = undefined;
  return true;
}
