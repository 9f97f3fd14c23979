// The queue and provider-fault admin API: closed to strangers, refused from other sites, and doing
// what it says to the real queues and the real mock providers.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  listFaultsRequest,
  setFaultRequest,
  type ProviderFaultDeps,
} from '@/app/_admin/provider-fault-requests';
import {
  pauseQueueRequest,
  queueHealthRequest,
  resumeQueueRequest,
  type QueueAdminDeps,
} from '@/app/_admin/queue-health/queue-health-requests';
import type { QueueHealthReport } from '@/app/_admin/queue-health/queue-health';
import { QUEUE_NAMES, type QueueName } from '@/lib/queues';
import type { CircuitBreaker } from '@/lib/circuit-breaker';
import { providerBreaker } from '@/workers/resilience/provider-breaker';
import { controlHeaders } from '@/infra/mock-providers/fault-control';
import { startMockProviders, type MockProviders } from '@/infra/mock-providers/start-mock-providers';
import { adminRequest, basicAuth as basic } from '@/tests/helpers/admin-request';
import { quietLog, startTestStack, type TestStack } from '@/tests/helpers/test-stack';

const ADMIN_AUTH = basic('admin', 'test-admin-password');

let stack: TestStack;
let deps: QueueAdminDeps;
let faultDeps: ProviderFaultDeps;

beforeAll(async () => {
  stack = await startTestStack();
  const breakers = Object.fromEntries(
    QUEUE_NAMES.map((queue) => [queue, providerBreaker(queue, stack.config, stack.producer, quietLog).shared] as const),
  ) as Record<QueueName, CircuitBreaker>;
  deps = { db: stack.db, queues: stack.queues, breakers, admin: stack.config.admin, log: quietLog };
  faultDeps = { admin: stack.config.admin, mocksUrl: stack.mocksUrl };
});
afterAll(() => stack.close());

function request(method: string, url: string, options: { auth?: string | null; body?: unknown; origin?: string } = {}) {
  return adminRequest(method, url, { rightAuth: ADMIN_AUTH, ...options });
}

async function mockFaults(): Promise<Record<string, { mode: string }>> {
  return (await (await fetch(`${stack.mocksUrl}/__faults`)).json()) as Record<string, { mode: string }>;
}

describe('without the right credentials', () => {
  const calls: Array<[string, (auth: string | null) => Promise<Response>]> = [
    ['GET /api/admin/queues', (auth) => queueHealthRequest(request('GET', '/api/admin/queues', { auth }), deps)],
    ['POST /api/admin/queues/email/pause', (auth) => pauseQueueRequest(request('POST', '/x', { auth }), deps, 'email')],
    ['POST /api/admin/queues/email/resume', (auth) => resumeQueueRequest(request('POST', '/x', { auth }), deps, 'email')],
    ['GET /api/admin/faults', (auth) => listFaultsRequest(request('GET', '/api/admin/faults', { auth }), faultDeps)],
    [
      'PUT /api/admin/faults/crm',
      (auth) => setFaultRequest(request('PUT', '/x', { auth, body: { mode: 'down' } }), faultDeps, 'crm'),
    ],
  ];

  it.each(calls)('%s answers 401 with no credentials or a wrong password, and changes nothing', async (_name, call) => {
    for (const auth of [null, basic('admin', 'guess')]) {
      const response = await call(auth);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
    }
    expect(await stack.queues.email.isPaused()).toBe(false);
    expect((await mockFaults()).crm?.mode).toBe('up');
  });
});

describe('GET /api/admin/queues', () => {
  it('answers the health report of every queue, never cached', async () => {
    const response = await queueHealthRequest(request('GET', '/api/admin/queues'), deps);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const report = (await response.json()) as QueueHealthReport;
    expect(report.queues.map((queue) => queue.name)).toEqual([...QUEUE_NAMES]);
    expect(report).toMatchObject({ valkeyReachable: true, generatedAt: expect.any(String) });
    expect(report.queues[0]?.throughput.completedPerMinute).toHaveLength(60);
  });
});

describe('POST /api/admin/queues/<queue>/pause and /resume', () => {
  it('pauses the queue for every worker, then resumes it', async () => {
    const paused = await pauseQueueRequest(request('POST', '/api/admin/queues/crm/pause'), deps, 'crm');
    expect(paused.status).toBe(200);
    expect(await paused.json()).toEqual({ queue: 'crm', paused: true });
    expect(await stack.queues.crm.isPaused()).toBe(true);
    expect(await stack.queues.email.isPaused()).toBe(false);

    const resumed = await resumeQueueRequest(request('POST', '/api/admin/queues/crm/resume'), deps, 'crm');
    expect(resumed.status).toBe(200);
    expect(await resumed.json()).toEqual({ queue: 'crm', paused: false });
    expect(await stack.queues.crm.isPaused()).toBe(false);
  });

  it.each([['sms'], ['CRM'], [''], [undefined]])('refuses the unknown queue %j with 400', async (queue) => {
    const response = await pauseQueueRequest(request('POST', `/api/admin/queues/${queue}/pause`), deps, queue);
    expect(response.status).toBe(400);
  });

  it('refuses a pause from another site with 403 and leaves the queue running', async () => {
    const response = await pauseQueueRequest(
      request('POST', '/api/admin/queues/email/pause', { origin: 'https://evil.example' }),
      deps,
      'email',
    );
    expect(response.status).toBe(403);
    expect(await stack.queues.email.isPaused()).toBe(false);
  });
});

describe('/api/admin/faults', () => {
  it('reads every provider mode from the mocks and sets one', async () => {
    const before = await listFaultsRequest(request('GET', '/api/admin/faults'), faultDeps);
    expect(before.status).toBe(200);
    expect(before.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys((await before.json()) as object).sort()).toEqual(['alerts', 'analytics', 'crm', 'smtp', 'storage']);

    const set = await setFaultRequest(
      request('PUT', '/api/admin/faults/crm', { body: { mode: 'flaky', failureRate: 0.25 } }),
      faultDeps,
      'crm',
    );
    expect(set.status).toBe(200);
    expect((await mockFaults()).crm).toMatchObject({ mode: 'flaky', failureRate: 0.25 });

    const after = await listFaultsRequest(request('GET', '/api/admin/faults'), faultDeps);
    expect(((await after.json()) as Record<string, { mode: string }>).crm?.mode).toBe('flaky');

    await setFaultRequest(request('PUT', '/api/admin/faults/all', { body: { mode: 'up' } }), faultDeps, 'all');
    expect(Object.values(await mockFaults()).every((fault) => fault.mode === 'up')).toBe(true);
  });

  it.each([
    ['an unknown mode', 'crm', { mode: 'sideways' }],
    ['a failure rate above 1', 'crm', { mode: 'flaky', failureRate: 2 }],
    ['an unknown field', 'crm', { mode: 'down', colour: 'red' }],
    ['a body that is not JSON', 'crm', '{oops'],
    ['no body', 'crm', undefined],
    ['an unknown provider', 'mailchimp', { mode: 'down' }],
  ])('refuses %s with 400 and leaves the mocks as they were', async (_label, provider, body) => {
    const response = await setFaultRequest(request('PUT', `/api/admin/faults/${provider}`, { body }), faultDeps, provider);
    expect(response.status).toBe(400);
    expect(Object.values(await mockFaults()).every((fault) => fault.mode === 'up')).toBe(true);
  });

  it('refuses a fault set from another site with 403', async () => {
    const response = await setFaultRequest(
      request('PUT', '/api/admin/faults/crm', { body: { mode: 'down' }, origin: 'https://evil.example' }),
      faultDeps,
      'crm',
    );
    expect(response.status).toBe(403);
    expect((await mockFaults()).crm?.mode).toBe('up');
  });

  it('answers 503 {available: false} when the mocks are not running', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    server.close();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const nowhere = { ...faultDeps, mocksUrl: `http://127.0.0.1:${address.port}` };

    const list = await listFaultsRequest(request('GET', '/api/admin/faults'), nowhere);
    expect(list.status).toBe(503);
    expect(await list.json()).toEqual({ available: false });
    const set = await setFaultRequest(request('PUT', '/api/admin/faults/crm', { body: { mode: 'down' } }), nowhere, 'crm');
    expect(set.status).toBe(503);
  });

  describe('when the mocks require MOCKS_TOKEN', () => {
    const token = 'admin-queues-mocks-token-0123';
    let guarded: MockProviders;
    let guardedDeps: ProviderFaultDeps;
    const guardedFaults = async () =>
      (await (await fetch(`${guardedDeps.mocksUrl}/__faults`, { headers: controlHeaders(token) })).json()) as Record<string, { mode: string }>;

    beforeAll(async () => {
      // Beyond loopback, as under compose, where the mocks must have a token.
      guarded = await startMockProviders({ httpPort: 0, smtpPort: 0, host: '0.0.0.0', token });
      guardedDeps = { ...faultDeps, mocksUrl: `http://127.0.0.1:${guarded.httpPort}`, mocksToken: token };
    });
    afterAll(() => guarded.close());

    it('sends the token, so the fault panel reads and sets the modes', async () => {
      const set = await setFaultRequest(request('PUT', '/api/admin/faults/crm', { body: { mode: 'down' } }), guardedDeps, 'crm');
      expect(set.status).toBe(200);
      expect((await guardedFaults()).crm?.mode).toBe('down');
      const list = await listFaultsRequest(request('GET', '/api/admin/faults'), guardedDeps);
      expect(((await list.json()) as Record<string, { mode: string }>).crm?.mode).toBe('down');
      await setFaultRequest(request('PUT', '/api/admin/faults/all', { body: { mode: 'up' } }), guardedDeps, 'all');
    });

    it.each([
      ['no token', undefined],
      ['another token', 'not-the-mocks-token-0123'],
    ])('answers 502 naming MOCKS_TOKEN with %s, not a 401 the browser would read as signed out', async (_label, mocksToken) => {
      const misconfigured = { ...guardedDeps, mocksToken };
      const list = await listFaultsRequest(request('GET', '/api/admin/faults'), misconfigured);
      expect(list.status).toBe(502);
      expect(((await list.json()) as { error: string }).error).toMatch(/MOCKS_TOKEN/);
      const set = await setFaultRequest(request('PUT', '/api/admin/faults/crm', { body: { mode: 'down' } }), misconfigured, 'crm');
      expect(set.status).toBe(502);
      expect((await guardedFaults()).crm?.mode).toBe('up');
    });
  });
});
