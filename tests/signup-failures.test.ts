// The signup when its own dependencies fail: a database that refuses or never answers is a 503
// inside the 2 s budget, never a 500 or a hang; and the synchronous baseline shows what coupling
// the request to the providers costs.
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleSignupRequest } from '@/app/_signup/signup-request';
import { handleSyncSignupRequest } from '@/app/_signup/sync-signup';
import { RateLimiter } from '@/app/_signup/rate-limiter';
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
