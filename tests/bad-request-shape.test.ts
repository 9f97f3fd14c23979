// Every 400 the web app answers has one shape (app/_web/bad-request.ts): `error`, a sentence, and
// `errors`, field → message. Each route that refuses input is asked something wrong here, and
// nothing it refuses is saved.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDeadLettersRequest, replayDeadLettersRequest } from '@/app/_admin/dead-letters/dead-letter-requests';
import { setFaultRequest } from '@/app/_admin/provider-fault-requests';
import { pauseQueueRequest } from '@/app/_admin/queue-health/queue-health-requests';
import { RateLimiter } from '@/app/_signup/rate-limiter';
import { handleSignupRequest } from '@/app/_signup/signup-request';
import { handleInviteRequest } from '@/app/_workspaces/invite-request';
import { CircuitBreaker } from '@/lib/circuit-breaker';
import { QUEUE_NAMES, QUEUE_PROVIDERS, type QueueName } from '@/lib/queues';
import { adminRequest, basicAuth } from '@/tests/helpers/admin-request';
import { quietLog, startTestStack, type TestStack } from '@/tests/helpers/test-stack';

const ADMIN = { user: 'admin', password: 'correct horse battery staple' };
const asAdmin = (method: string, url: string, body?: unknown) =>
  adminRequest(method, url, { rightAuth: basicAuth(ADMIN.user, ADMIN.password), body });

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.close());

async function expectOneShape(response: Response, field: string) {
  expect(response.status).toBe(400);
  const body = (await response.json()) as { error?: unknown; errors?: Record<string, unknown> };
  expect(typeof body.error).toBe('string');
  expect((body.error as string).length).toBeGreaterThan(0);
  expect(Object.keys(body.errors ?? {})).toContain(field);
  for (const message of Object.values(body.errors ?? {})) expect(typeof message).toBe('string');
}

describe('a 400 from any route', () => {
  it('POST /api/signups: names the field, and saves nobody', async () => {
    const before = await stack.db.user.count();
    const request = new Request('http://app.test/api/signups', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '', email: 'not an address' }),
    });
    const deps = { pool: stack.pool, queues: stack.queues, limiter: new RateLimiter(0), log: quietLog, followUpDelayMs: 60_000 };
    await expectOneShape(await handleSignupRequest(request, deps), 'email');
    expect(await stack.db.user.count()).toBe(before);
  });

  it('POST /api/workspaces/<slug>/invites: names the field, lists the entries, and invites nobody', async () => {
    const before = await stack.db.invitation.count();
    const response = await handleInviteRequest(asAdmin('POST', '/api/workspaces/acme/invites', { emails: ['ok@example.test', 'nope'] }), 'acme', {
      pool: stack.pool,
      queues: stack.queues,
      log: quietLog,
      admin: ADMIN,
    });
    const copy = response.clone();
    await expectOneShape(response, 'emails');
    expect(((await copy.json()) as { invalidCount: number }).invalidCount).toBe(1);
    expect(await stack.db.invitation.count()).toBe(before);
  });

  it('the dead-letter API: a bad filter, and a replay of a queue that does not exist', async () => {
    const deps = { db: stack.db, queues: stack.queues, admin: ADMIN, replayPerSecond: 10 };
    await expectOneShape(await listDeadLettersRequest(asAdmin('GET', '/api/admin/dlq?queue=nope'), deps), 'queue');
    // Neither {ids} nor {queue}: the body as a whole is wrong, and the sentence says what to send.
    await expectOneShape(await replayDeadLettersRequest(asAdmin('POST', '/api/admin/dlq/replay', { queue: 'nope' }), deps), 'body');
  });

  it('the fault panel: a mode that does not exist', async () => {
    const response = await setFaultRequest(asAdmin('PUT', '/api/admin/faults/crm', { mode: 'sideways' }), { admin: ADMIN, mocksUrl: stack.mocksUrl }, 'crm');
    await expectOneShape(response, 'mode');
    const faults = (await (await fetch(`${stack.mocksUrl}/__faults`)).json()) as Record<string, { mode: string }>;
    expect(faults.crm?.mode).toBe('up');
  });

  it('pausing a queue that does not exist', async () => {
    const breakers = Object.fromEntries(
      QUEUE_NAMES.map((queue) => [queue, new CircuitBreaker({ redis: stack.producer, provider: QUEUE_PROVIDERS[queue], keyPrefix: stack.config.queuePrefix })]),
    ) as Record<QueueName, CircuitBreaker>;
    const deps = { db: stack.db, queues: stack.queues, breakers, admin: ADMIN, log: quietLog };
    await expectOneShape(await pauseQueueRequest(asAdmin('POST', '/api/admin/queues/nope/pause'), deps, 'nope'), 'queue');
  });
});
