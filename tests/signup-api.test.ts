// POST /api/signups, through the same Request → Response function the route uses, against the real
// database and Valkey.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleSignupRequest, MAX_BODY_BYTES, type SignupDeps } from '@/app/_signup/signup-request';
import { RateLimiter } from '@/app/_signup/rate-limiter';
import { sendGettingStartedEmail, SIGNUP_JOBS } from '@/workers/jobs/job-contracts';
import { jobCounts, quietLog, startTestStack, uniqueSignup, type TestStack } from '@/tests/helpers/test-stack';

let stack: TestStack;
let deps: SignupDeps;

beforeAll(async () => {
  stack = await startTestStack();
  deps = { pool: stack.pool, queues: stack.queues, limiter: new RateLimiter(0), log: quietLog, followUpDelayMs: stack.config.followUpDelayMs };
});
afterAll(() => stack.close());

function post(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return new Request('http://app.test/api/signups', { method: 'POST', headers, body });
}

async function usersWithEmail(email: string) {
  return stack.db.user.count({ where: { email: { equals: email, mode: 'insensitive' } } });
}

describe('POST /api/signups', () => {
  describe('with a valid signup', () => {
    it('answers 201 with the status URL, saves the user and queues its four jobs and the delayed follow-up', async () => {
      const signup = uniqueSignup();
      const response = await handleSignupRequest(post(JSON.stringify(signup)), deps);

      expect(response.status).toBe(201);
      const body = (await response.json()) as { id: string; statusUrl: string };
      expect(body.statusUrl).toMatch(/^\/welcome\/[A-Za-z0-9_-]{43}$/);
      expect(response.headers.get('location')).toBe(body.statusUrl);

      const user = await stack.db.user.findUniqueOrThrow({ where: { id: body.id } });
      expect(user).toMatchObject({ email: signup.email, name: signup.name, workspace: 'acme' });

      const outbox = await stack.db.outboxMessage.findMany({ where: { jobId: { contains: body.id } } });
      expect(outbox).toHaveLength(5);

      for (const contract of SIGNUP_JOBS) {
        const job = await stack.queues[contract.queue].getJob(`${contract.name}-${body.id}`);
        expect(job?.name).toBe(contract.name);
        // Payloads carry ids only: no email, no name; and the workspace, the jobs' tenant.
        expect(job?.data).toEqual({ userId: body.id, tenant: 'acme' });
        const counts = await jobCounts(stack.queues, contract.queue);
        expect((counts.waiting ?? 0) + (counts.prioritized ?? 0)).toBe(1);
        expect(outbox.find((row) => row.jobName === contract.name)?.dispatchedAt).not.toBeNull();
      }

      // The follow-up is days away: it waits in PostgreSQL, not in Valkey, until it is nearly due.
      const followUp = outbox.find((row) => row.jobName === sendGettingStartedEmail.name);
      expect(followUp?.dispatchedAt).toBeNull();
      const dueIn = (followUp?.availableAt.getTime() ?? 0) - Date.now();
      expect(dueIn).toBeGreaterThan(stack.config.followUpDelayMs - 60_000);
      expect(dueIn).toBeLessThanOrEqual(stack.config.followUpDelayMs);
      expect(await stack.queues.email.getJob(sendGettingStartedEmail.jobId({ userId: body.id }))).toBeUndefined();
    });

    it('normalises the email and workspace before saving', async () => {
      const signup = uniqueSignup();
      const response = await handleSignupRequest(
        post(JSON.stringify({ name: '  Ada  ', email: `  ${signup.email.toUpperCase()} `, workspace: ' ACME-Labs ' })),
        deps,
      );
      expect(response.status).toBe(201);
      const { id } = (await response.json()) as { id: string };
      const user = await stack.db.user.findUniqueOrThrow({ where: { id } });
      expect(user).toMatchObject({ name: 'Ada', email: signup.email, workspace: 'acme-labs' });
    });
  });

  describe('when the email is already registered, in any case', () => {
    it('answers 409 without saving a second user or queueing jobs', async () => {
      const signup = uniqueSignup();
      expect((await handleSignupRequest(post(JSON.stringify(signup)), deps)).status).toBe(201);
      const outboxBefore = await stack.db.outboxMessage.count();

      const again = await handleSignupRequest(
        post(JSON.stringify({ ...signup, name: 'Someone Else', email: signup.email.toUpperCase() })),
        deps,
      );
      expect(again.status).toBe(409);
      expect(await again.json()).toEqual({ errors: { email: 'An account with this email already exists.' } });
      expect(await usersWithEmail(signup.email)).toBe(1);
      expect(await stack.db.outboxMessage.count()).toBe(outboxBefore);
    });
  });

  describe('with bad input', () => {
    const email = () => uniqueSignup().email;
    const cases: Array<[string, () => Request, number, string]> = [
      ['a missing name', () => post(JSON.stringify({ email: email() })), 400, 'name'],
      ['a blank name', () => post(JSON.stringify({ name: '   ', email: email() })), 400, 'name'],
      ['a name over 100 characters', () => post(JSON.stringify({ name: 'x'.repeat(101), email: email() })), 400, 'name'],
      ['a name with control characters', () => post(JSON.stringify({ name: 'Ada\u0000', email: email() })), 400, 'name'],
      ['a name that is not text', () => post(JSON.stringify({ name: 42, email: email() })), 400, 'name'],
      ['a missing email', () => post(JSON.stringify({ name: 'Ada' })), 400, 'email'],
      ['an invalid email', () => post(JSON.stringify({ name: 'Ada', email: 'not-an-email' })), 400, 'email'],
      ['an email over 254 characters', () => post(JSON.stringify({ name: 'Ada', email: `${'a'.repeat(250)}@example.test` })), 400, 'email'],
      ['a workspace with spaces', () => post(JSON.stringify({ name: 'Ada', email: email(), workspace: 'my space' })), 400, 'workspace'],
      ['a workspace ending with a hyphen', () => post(JSON.stringify({ name: 'Ada', email: email(), workspace: 'acme-' })), 400, 'workspace'],
      ['a JSON array', () => post(JSON.stringify([{ name: 'Ada' }])), 400, 'body'],
      ['JSON null', () => post('null'), 400, 'body'],
      ['broken JSON', () => post('{"name": "Ada",'), 400, 'body'],
      ['an empty body', () => post(''), 400, 'body'],
    ];

    it.each(cases)('refuses %s with %i naming the field, and stores nothing', async (_label, request, status, field) => {
      const usersBefore = await stack.db.user.count();
      const response = await handleSignupRequest(request(), deps);
      expect(response.status).toBe(status);
      const body = (await response.json()) as { errors: Record<string, string> };
      expect(Object.keys(body.errors)).toContain(field);
      expect(body.errors[field]).toMatch(/\w/);
      expect(await stack.db.user.count()).toBe(usersBefore);
    });

    it('refuses a body that is not JSON with 415', async () => {
      const signup = uniqueSignup();
      const response = await handleSignupRequest(
        post(new URLSearchParams(signup).toString(), { 'content-type': 'application/x-www-form-urlencoded' }),
        deps,
      );
      expect(response.status).toBe(415);
      expect(await usersWithEmail(signup.email)).toBe(0);
    });

    it('refuses a body over 16 KiB with 413, even without a Content-Length', async () => {
      const signup = uniqueSignup({ padding: 'x'.repeat(MAX_BODY_BYTES) });
      const stream = new Blob([JSON.stringify(signup)]).stream();
      const request = new Request('http://app.test/api/signups', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(request.headers.get('content-length')).toBeNull();
      const response = await handleSignupRequest(request, deps);
      expect(response.status).toBe(413);
      expect(await usersWithEmail(signup.email)).toBe(0);
    });

    it('refuses a declared Content-Length over 16 KiB with 413 before reading', async () => {
      const signup = uniqueSignup();
      const response = await handleSignupRequest(
        post(JSON.stringify(signup), { 'content-type': 'application/json', 'content-length': String(MAX_BODY_BYTES + 1) }),
        deps,
      );
      expect(response.status).toBe(413);
      expect(await usersWithEmail(signup.email)).toBe(0);
    });
  });

  describe('when one address signs up too often', () => {
    it('answers 429 with Retry-After and stores nothing', async () => {
      const limited = { ...deps, limiter: new RateLimiter(2) };
      const from = (signup: object) =>
        post(JSON.stringify(signup), { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7' });
      expect((await handleSignupRequest(from(uniqueSignup()), limited)).status).toBe(201);
      expect((await handleSignupRequest(from(uniqueSignup()), limited)).status).toBe(201);

      const third = uniqueSignup();
      const response = await handleSignupRequest(from(third), limited);
      expect(response.status).toBe(429);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await usersWithEmail(third.email)).toBe(0);
    });
  });
});
