// Who is asking, and how often: the signup and admin-login budgets in Valkey, shared by every web
// replica, keyed on the address the client-address stamp took from the socket, and still limiting
// while Valkey is gone. Through the functions the routes use, on the real Valkey and database, and
// through a real HTTP server where the stamp matters.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateAdmin } from '@/app/_admin/auth/admin-auth';
import { attemptLogin, WRONG_CREDENTIALS } from '@/app/_admin/auth/login-attempt';
import {
  ACCOUNT_FAILURES_PER_HOUR,
  GLOBAL_FAILURES_PER_HOUR,
  LOGIN_FAILURES_PER_MINUTE,
  LoginThrottle,
} from '@/app/_admin/auth/login-throttle';
import { RateLimiter } from '@/app/_signup/rate-limiter';
import { handleSignupRequest, type SignupDeps } from '@/app/_signup/signup-request';
import { loadConfig } from '@/lib/config';
import type { Logger } from '@/lib/log';
import { createMetrics } from '@/lib/metrics';
import { SharedBudgets } from '@/lib/rate-budgets';
import { createProducerConnection, hashTag, keysMatching, type Valkey, type ValkeyTarget } from '@/lib/valkey';
import { startStampedServer } from '@/tests/helpers/stamped-server';
import { quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';
import { startValkeyProcess } from '@/tests/helpers/valkey-process';

const ADMIN = { user: 'admin', password: 'correct horse battery staple' };
const NOW = Date.parse('2026-12-01T09:00:00Z');

let stack: TestStack;
const connections: Valkey[] = [];

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  for (const connection of connections) connection.disconnect();
  await stack.close();
});

/** A key prefix of one test's own, under the stack's (which stack.close() deletes). */
const ownPrefix = () => `${stack.config.queuePrefix}:${randomUUID().slice(0, 8)}`;

/** One web replica's budgets: its own connection to the shared Valkey, as each process has. */
async function replicaBudgets(keyPrefix: string, target: ValkeyTarget | string = stack.config.valkey): Promise<{ budgets: SharedBudgets; fallbacks: unknown[] }> {
  const redis = createProducerConnection(target);
  connections.push(redis);
  await waitFor(() => redis.status === 'ready', { what: 'a replica connected' });
  const fallbacks: unknown[] = [];
  return { budgets: new SharedBudgets({ redis, keyPrefix, onFallback: (error) => fallbacks.push(error) }), fallbacks };
}

const signupDeps = (limiter: RateLimiter): SignupDeps => ({
  pool: stack.pool,
  queues: stack.queues,
  limiter,
  log: quietLog,
  followUpDelayMs: stack.config.followUpDelayMs,
});

/** POST /api/signups as the route gets it; `forwardedFor` stands for what the stamp wrote. */
function signup(forwardedFor?: string): Request {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
  return new Request('http://app.test/api/signups', { method: 'POST', headers, body: JSON.stringify(uniqueSignup()) });
}

async function statuses(requests: Array<() => Promise<Response>>): Promise<number[]> {
  const answered: number[] = [];
  for (const request of requests) answered.push((await request()).status);
  return answered;
}

describe('the signup limit', () => {
  describe('behind the client-address stamp, with no proxy in front', () => {
    it('gives a client that rotates X-Forwarded-For no extra signups', async () => {
      const { budgets } = await replicaBudgets(ownPrefix());
      const deps = signupDeps(new RateLimiter(3, { budgets }));
      const server = await startStampedServer(0, (request) => handleSignupRequest(request, deps));
      try {
        const post = (index: number) => () =>
          fetch(`${server.url}/api/signups`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.51.100.${index}` },
            body: JSON.stringify(uniqueSignup()),
          });
        expect(await statuses([1, 2, 3, 4, 5].map(post))).toEqual([201, 201, 201, 429, 429]);
      } finally {
        await server.close();
      }
    });
  });

  describe('behind one trusted proxy (TRUSTED_PROXY_HOPS=1)', () => {
    it('counts the address the proxy appended, whatever the client wrote before it', async () => {
      const { budgets } = await replicaBudgets(ownPrefix());
      const deps = signupDeps(new RateLimiter(3, { budgets }));
      const server = await startStampedServer(1, (request) => handleSignupRequest(request, deps));
      try {
        const post = (forwardedFor: string) => () =>
          fetch(`${server.url}/api/signups`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
            body: JSON.stringify(uniqueSignup()),
          });
        const rotating = [1, 2, 3, 4].map((index) => post(`203.0.113.${index}, 198.51.100.50`));
        expect(await statuses([...rotating, post('203.0.113.1, 198.51.100.51')])).toEqual([201, 201, 201, 429, 201]);
      } finally {
        await server.close();
      }
    });
  });

  it('is shared by every web replica', async () => {
    const keyPrefix = ownPrefix();
    const replicas = [await replicaBudgets(keyPrefix), await replicaBudgets(keyPrefix)].map(({ budgets }) => signupDeps(new RateLimiter(4, { budgets })));
    const fromBoth = Array.from({ length: 6 }, (_, index) => () => handleSignupRequest(signup('203.0.113.10'), replicas[index % 2] as SignupDeps));
    expect(await statuses(fromBoth)).toEqual([201, 201, 201, 201, 429, 429]);
  });

  it('counts an IPv6 client by its /64, and an IPv4-mapped one as IPv4', async () => {
    const { budgets } = await replicaBudgets(ownPrefix());
    const deps = signupDeps(new RateLimiter(2, { budgets }));
    const from = (address: string) => () => handleSignupRequest(signup(address), deps);
    expect(await statuses(['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::3', '2001:db8:1:3::1'].map(from))).toEqual([201, 201, 429, 201]);
    expect(await statuses(['::ffff:198.51.100.20', '198.51.100.20', '::ffff:198.51.100.20'].map(from))).toEqual([201, 201, 429]);
  });

  it('refuses everyone past the global budget, spending nothing of the refused address', async () => {
    const keyPrefix = ownPrefix();
    const { budgets } = await replicaBudgets(keyPrefix);
    const deps = signupDeps(new RateLimiter(30, { globalPerMinute: 3, budgets }));
    expect(await statuses([1, 2, 3].map((index) => () => handleSignupRequest(signup(`198.51.100.6${index}`), deps)))).toEqual([201, 201, 201]);

    const refused = await handleSignupRequest(signup('198.51.100.64'), deps);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: 'Too many signups right now; try again shortly.' });
    expect(Number(refused.headers.get('retry-after'))).toBe(20);
    expect(await stack.producer.exists(budgets.budgetKey('signup', 'address:198.51.100.64'))).toBe(0);
  });

  it('keeps its keys in one Cluster slot, each expiring once its budget is full again', async () => {
    const keyPrefix = ownPrefix();
    const { budgets } = await replicaBudgets(keyPrefix);
    const limiter = new RateLimiter(30, { globalPerMinute: 30, budgets });
    for (let signup = 0; signup < 3; signup += 1) expect((await limiter.take('198.51.100.90')).allowed).toBe(true);

    const keys = await keysMatching(stack.producer, `${keyPrefix}:*`);
    expect(keys.sort()).toEqual([budgets.budgetKey('signup', 'address:198.51.100.90'), budgets.budgetKey('signup', 'everyone')].sort());
    for (const key of keys) {
      expect(hashTag(key)).toBe('budget:signup');
      // Three spent at 30 a minute: full again 6 s later.
      expect(await stack.producer.pttl(key)).toBeGreaterThan(5_000);
      expect(await stack.producer.pttl(key)).toBeLessThanOrEqual(6_000);
    }
  });

  it('is off, global budget included, when SIGNUP_RATE_LIMIT_PER_MINUTE is 0 (the benchmark)', () => {
    expect(loadConfig({}).signupGlobalRateLimitPerMinute).toBe(2_400);
    expect(loadConfig({ SIGNUP_RATE_LIMIT_PER_MINUTE: '0' }).signupGlobalRateLimitPerMinute).toBe(0);
    expect(loadConfig({ SIGNUP_GLOBAL_RATE_LIMIT_PER_MINUTE: '0' }).signupGlobalRateLimitPerMinute).toBe(0);
    expect(loadConfig({}).trustedProxyHops).toBe(0);
  });
});

describe('the admin login budgets', () => {
  const basic = (user: string, password: string, forwardedFor: string) =>
    new Request('http://app.test/api/admin/dlq', {
      headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, 'x-forwarded-for': forwardedFor },
    });
  const form = (user: string, password: string) => {
    const fields = new FormData();
    fields.set('user', user);
    fields.set('password', password);
    return fields;
  };
  /** The n-th of many distinct addresses. */
  const address = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

  /** Wrong attempts from as many addresses as their per-address budget needs, in parallel batches. */
  async function guess(throttle: LoginThrottle, user: string, count: number, now: number): Promise<string[]> {
    const errors: string[] = [];
    for (let start = 0; start < count; start += 100) {
      const batch = Array.from({ length: Math.min(100, count - start) }, async (_, offset) => {
        const n = start + offset;
        const headers = new Headers({ 'x-forwarded-for': address(Math.floor(n / LOGIN_FAILURES_PER_MINUTE)) });
        const outcome = await attemptLogin(form(user, `guess-${n}`), headers, { admin: ADMIN, throttle, appUrl: 'http://app.test', now });
        return outcome.ok ? 'signed in' : (outcome.state.error ?? '');
      });
      errors.push(...(await Promise.all(batch)));
    }
    return errors;
  }

  const status = async (request: Request, throttle: LoginThrottle, now: number) => {
    const result = await authenticateAdmin(request, ADMIN, { throttle, now });
    return result instanceof Response ? result.status : 200;
  };

  it('refuses everyone, the admin too, once the account has had its wrong attempts from many addresses, for seconds after', async () => {
    const { budgets } = await replicaBudgets(ownPrefix());
    const throttle = new LoginThrottle({ budgets });
    const errors = await guess(throttle, ADMIN.user, ACCOUNT_FAILURES_PER_HOUR, NOW);
    expect(new Set(errors)).toEqual(new Set([WRONG_CREDENTIALS]));

    const fresh = address(1_000_000);
    expect(await status(basic(ADMIN.user, ADMIN.password, fresh), throttle, NOW)).toBe(429);
    // A refusal that came only to the admin's name would tell a guesser the name was right.
    expect(await status(basic('root', 'guess', fresh), throttle, NOW)).toBe(429);
    // One every 3 s once spent: the lock-out lasts as long as the guessing, not longer.
    expect(await status(basic(ADMIN.user, ADMIN.password, fresh), throttle, NOW + 3_000)).toBe(200);
  });

  it('bounds guesses at other user names by the global budget, without spending the account’s', async () => {
    const { budgets } = await replicaBudgets(ownPrefix());
    const throttle = new LoginThrottle({ budgets });
    const errors = await guess(throttle, 'root', GLOBAL_FAILURES_PER_HOUR, NOW);
    expect(new Set(errors)).toEqual(new Set([WRONG_CREDENTIALS]));

    expect(await status(basic(ADMIN.user, ADMIN.password, address(2_000_000)), throttle, NOW)).toBe(429);
    expect(await stack.producer.exists(budgets.budgetKey('admin-login', 'account'))).toBe(0);
  });

  it('shares an address’s wrong attempts between replicas, and never locks out the address a client only names', async () => {
    const keyPrefix = ownPrefix();
    const throttles = [await replicaBudgets(keyPrefix), await replicaBudgets(keyPrefix)].map(({ budgets }) => new LoginThrottle({ budgets }));
    let asked = 0;
    const check = (request: Request) => authenticateAdmin(request, ADMIN, { throttle: throttles[asked++ % 2] as LoginThrottle });
    const server = await startStampedServer(1, async (request) => {
      const result = await check(request);
      return result instanceof Response ? result : new Response(null, { status: 200 });
    });
    try {
      const get = (user: string, password: string, forwardedFor: string) => () =>
        fetch(`${server.url}/api/admin/dlq`, {
          headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, 'x-forwarded-for': forwardedFor },
        });
      // The guesser names the admin's address; the proxy appends its own.
      const guesses = Array.from({ length: LOGIN_FAILURES_PER_MINUTE + 2 }, () => get(ADMIN.user, 'guess', '198.51.100.70, 203.0.113.66'));
      expect(await statuses(guesses)).toEqual([401, 401, 401, 401, 401, 429, 429]);
      expect(await statuses([get(ADMIN.user, ADMIN.password, '203.0.113.66')]), 'the guesser, even with the password').toEqual([429]);
      expect(await statuses([get(ADMIN.user, ADMIN.password, '198.51.100.70')]), 'the admin').toEqual([200]);
    } finally {
      await server.close();
    }
  });

  it('logs each wrong attempt with its address only, and counts wrong and throttled ones from 0', async () => {
    const { budgets } = await replicaBudgets(ownPrefix());
    const lines: Array<{ message: string; fields?: object }> = [];
    const log: Logger = { ...quietLog, warn: (message, fields) => lines.push({ message, fields }) };
    const metrics = createMetrics();
    const failures = async () => (await metrics.registry.getSingleMetricAsString('signup_admin_login_failures_total')).split('\n').filter((line) => !line.startsWith('#'));
    expect(await failures()).toEqual(['signup_admin_login_failures_total{outcome="wrong"} 0', 'signup_admin_login_failures_total{outcome="throttled"} 0']);

    const throttle = new LoginThrottle({ budgets, log, metrics });
    const headers = new Headers({ 'x-forwarded-for': '198.51.100.80' });
    for (let attempt = 0; attempt <= LOGIN_FAILURES_PER_MINUTE; attempt += 1) {
      await attemptLogin(form('root-typed-by-someone', 'hunter2-typed-by-someone'), headers, { admin: ADMIN, throttle, appUrl: 'http://app.test', now: NOW });
    }

    expect(lines).toEqual(Array.from({ length: LOGIN_FAILURES_PER_MINUTE }, () => ({ message: 'admin login failed', fields: { client: '198.51.100.80', via: 'form' } })));
    expect(JSON.stringify(lines)).not.toMatch(/typed-by-someone/);
    expect(await failures()).toEqual([
      `signup_admin_login_failures_total{outcome="wrong"} ${LOGIN_FAILURES_PER_MINUTE}`,
      'signup_admin_login_failures_total{outcome="throttled"} 1',
    ]);
  });
});

describe('when Valkey is unreachable', () => {
  it('falls back to this process’s budgets, so signups still succeed and are still limited', async () => {
    const valkey = await startValkeyProcess();
    try {
      const { budgets, fallbacks } = await replicaBudgets(ownPrefix(), valkey.url);
      const deps = signupDeps(new RateLimiter(2, { budgets }));
      expect((await handleSignupRequest(signup('203.0.113.30'), deps)).status).toBe(201);
      expect(fallbacks).toEqual([]);

      await valkey.stop();
      const from = () => handleSignupRequest(signup('203.0.113.30'), deps);
      expect(await statuses([from, from, from])).toEqual([201, 201, 429]);
      expect(fallbacks.length).toBe(3);
    } finally {
      await valkey.stop();
    }
  });

  it('does not wait on a Valkey that stops answering', async () => {
    const relay = await freezableRelay(new URL(stack.config.valkey.url));
    try {
      const { budgets, fallbacks } = await replicaBudgets(ownPrefix(), relay.url);
      const limiter = new RateLimiter(1, { budgets });
      expect((await limiter.take('203.0.113.31')).allowed).toBe(true);
      expect(fallbacks).toEqual([]);
      relay.freeze();

      const started = performance.now();
      const decisions = [await limiter.take('203.0.113.31'), await limiter.take('203.0.113.31')];
      expect(performance.now() - started, 'two deadlines, far below the connection’s own 500 ms timeout').toBeLessThan(400);
      expect(decisions.map((decision) => decision.allowed)).toEqual([true, false]);
      expect(fallbacks).toHaveLength(2);
    } finally {
      relay.close();
    }
  });
});

/** A TCP relay to Valkey that can stop passing anything on, as a hung server or a partition does. */
async function freezableRelay(target: URL): Promise<{ url: string; freeze(): void; close(): void }> {
  let frozen = false;
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.push(client, upstream);
    client.on('data', (chunk) => frozen || upstream.write(chunk));
    upstream.on('data', (chunk) => frozen || client.write(chunk));
    for (const [socket, other] of [[client, upstream], [upstream, client]] as const) {
      socket.on('error', () => undefined);
      socket.on('close', () => other.destroy());
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    freeze: () => {
      frozen = true;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
