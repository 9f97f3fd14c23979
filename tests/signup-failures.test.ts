// The signup when its own dependencies fail: a database that refuses or never answers is a 503
// inside the 2 s budget, never a 500 or a hang; and the synchronous baseline shows what coupling
// the request to the providers costs. And when its client fails: a body that stops short is a 408
// at the body's deadline, a client that goes away mid-body is counted as 499, never as a 500.
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleSignupRequest } from '@/app/_signup/signup-request';
import { handleSyncSignupRequest } from '@/app/_signup/sync-signup';
import { RateLimiter } from '@/app/_signup/rate-limiter';
import { BODY_DEADLINE_MS } from '@/lib/capped-body';
import { metrics } from '@/lib/metrics';
import { createPool, type Pool } from '@/lib/sql';
import { createSyncBaseline, type SyncBaseline } from '@/workers/jobs/sync-baseline';
import { quietLog, startTestStack, uniqueSignup, type TestStack } from '@/tests/helpers/test-stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.close());

function post(path: string, body: unknown) {
  return new Request(`http://app.test${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** A TCP server that accepts connections and never says a word: a database that hangs. */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${address.port}/signup`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function signUpWith(pool: Pool): Promise<Response> {
  return handleSignupRequest(post('/api/signups', uniqueSignup()), {
    pool,
    queues: stack.queues,
    limiter: new RateLimiter(0),
    log: quietLog,
    followUpDelayMs: stack.config.followUpDelayMs,
  });
}

describe('POST /api/signups when the database is unavailable', () => {
  it('answers 503 with Retry-After within 2 s when the database refuses connections', async () => {
    const pool = createPool('postgresql://postgres:postgres@127.0.0.1:1/signup');
    const started = Date.now();
    try {
      const response = await signUpWith(pool);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await pool.end();
    }
  });

  it('answers 503 within 2 s when the database accepts but never answers', async () => {
    const hole = await blackHole();
    const pool = createPool(hole.url);
    const started = Date.now();
    try {
      const response = await signUpWith(pool);
      expect(response.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await pool.end();
      await hole.close();
    }
  });
});

describe('POST /api/signups/sync (the synchronous baseline)', () => {
  let syncBaseline: SyncBaseline;
  beforeAll(() => {
    syncBaseline = createSyncBaseline(stack.config, stack.pool);
  });
  afterAll(() => syncBaseline.close());

  const deps = () => ({ pool: stack.pool, limiter: new RateLimiter(0), log: quietLog, syncBaseline });

  describe('with every provider up', () => {
    it('calls all four providers before answering 201, and queues nothing', async () => {
      const signup = uniqueSignup();
      const response = await handleSyncSignupRequest(post('/api/signups/sync', signup), deps());
      expect(response.status).toBe(201);
      const body = (await response.json()) as { id: string; completed: string[] };
      expect(body.completed).toEqual(['send-welcome-email', 'sync-crm-contact', 'generate-avatar', 'track-signup-event']);
      expect(await stack.db.crmContact.count({ where: { userId: body.id } })).toBe(1);
      expect(await stack.db.outboxMessage.count({ where: { jobId: { endsWith: body.id } } })).toBe(0);
    });
  });

  describe('when the CRM is down', () => {
    it('answers 502 with the user saved and the remaining work simply not done', async () => {
      await stack.setFault('crm', { mode: 'down' });
      try {
        const response = await handleSyncSignupRequest(post('/api/signups/sync', uniqueSignup()), deps());
        expect(response.status).toBe(502);
        const body = (await response.json()) as { id: string; completed: string[]; failed: string };
        expect(body).toMatchObject({ completed: ['send-welcome-email'], failed: 'sync-crm-contact' });
        expect(await stack.db.user.count({ where: { id: body.id } })).toBe(1);
        expect(await stack.db.avatar.count({ where: { userId: body.id } })).toBe(0);
      } finally {
        await stack.setFault('crm', { mode: 'up' });
      }
    });
  });

  it('refuses bad input exactly like the asynchronous endpoint', async () => {
    const response = await handleSyncSignupRequest(post('/api/signups/sync', { name: '', email: 'x' }), deps());
    expect(response.status).toBe(400);
    expect(Object.keys(((await response.json()) as { errors: object }).errors).sort()).toEqual(['email', 'name']);
  });
});

describe('POST /api/signups when the client sends its body badly', () => {
  const encoder = new TextEncoder();
  const deps = () => ({
    pool: stack.pool,
    queues: stack.queues,
    limiter: new RateLimiter(0),
    log: quietLog,
    followUpDelayMs: stack.config.followUpDelayMs,
  });
  /** signup_request_seconds_count for the signup route and `status`. */
  const answered = async (status: string) =>
    (await metrics().requestSeconds.get()).values.find(
      (value) => value.metricName === 'signup_request_seconds_count' && value.labels.route === '/api/signups' && value.labels.status === status,
    )?.value ?? 0;
  const streamed = (body: ReadableStream<Uint8Array>, length: number) =>
    new Request('http://app.test/api/signups', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(length) },
      body,
      duplex: 'half',
    } as RequestInit);

  it('answers 408 within its deadline when the body stops short of its Content-Length, and saves nothing', async () => {
    const signup = uniqueSignup();
    const whole = JSON.stringify(signup);
    const started = Date.now();
    const response = await handleSignupRequest(
      streamed(
        new ReadableStream({
          start(controller) {
            controller.enqueue(encoder.encode(whole.slice(0, 20)));
          },
        }),
        whole.length,
      ),
      deps(),
    );
    expect(response.status).toBe(408);
    expect((await response.json()) as { error: string }).toEqual({ error: expect.stringContaining('did not arrive within') });
    expect(Date.now() - started).toBeLessThan(BODY_DEADLINE_MS + 2_000);
    expect(await stack.db.user.count({ where: { email: signup.email } })).toBe(0);
  });

  it('counts a client that went away mid-body as 499, never as a 500', async () => {
    const [aborted, failed] = [await answered('499'), await answered('500')];
    const response = await handleSignupRequest(
      streamed(
        new ReadableStream({
          start(controller) {
            controller.enqueue(encoder.encode('{"name":"Ada",'));
            setTimeout(() => controller.error(new Error('aborted')), 10);
          },
        }),
        200,
      ),
      deps(),
    );
    expect(response.status).toBe(499);
    expect(await answered('499')).toBe(aborted + 1);
    expect(await answered('500')).toBe(failed);
  });
});
