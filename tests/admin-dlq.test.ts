// The dead-letter admin API: closed to strangers, validated, and every action audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  discardDeadLetterRequest,
  listDeadLettersRequest,
  replayDeadLettersRequest,
  type DeadLetterDeps,
} from '@/app/_admin/dead-letters/dead-letter-requests';
import { insertUser } from '@/app/_signup/create-signup';
import { newToken } from '@/lib/access-tokens';
import { syncCrmContact } from '@/workers/jobs/job-contracts';
import { adminRequest, basicAuth as basic } from '@/tests/helpers/admin-request';
import { startTestStack, uniqueSignup, type TestStack } from '@/tests/helpers/test-stack';

const ADMIN = { user: 'admin', password: 'correct horse battery staple' };

let stack: TestStack;
let deps: DeadLetterDeps;

beforeAll(async () => {
  stack = await startTestStack();
  deps = { db: stack.db, queues: stack.queues, admin: ADMIN, replayPerSecond: 4 };
});
afterAll(() => stack.close());

function request(method: string, url: string, options: { auth?: string | null; body?: unknown; origin?: string } = {}) {
  return adminRequest(method, url, { rightAuth: basic(ADMIN.user, ADMIN.password), ...options });
}

/** A CRM dead letter of a fresh user, unique to the calling test. */
async function deadLetter(lastError = 'crm: POST /crm/contacts answered 422') {
  const userId = crypto.randomUUID();
  await insertUser(stack.pool, uniqueSignup(), { userId, statusToken: newToken() });
  return stack.db.deadLetter.create({
    data: {
      queue: 'crm',
      jobName: syncCrmContact.name,
      jobId: syncCrmContact.jobId({ userId }),
      payload: { userId },
      options: syncCrmContact.options as object,
      attemptsMade: 1,
      attemptErrors: [{ attempt: 1, error: lastError, at: new Date().toISOString() }],
      lastError,
      firstFailedAt: new Date(),
      failedAt: new Date(),
    },
  });
}

describe('/api/admin/dlq', () => {
  describe('without the right credentials', () => {
    it.each([
      ['no credentials', null],
      ['a wrong password', basic(ADMIN.user, 'guess')],
      ['a wrong user', basic('root', ADMIN.password)],
      ['a malformed header', 'Basic !!!'],
    ])('refuses %s with 401 and a Basic challenge', async (_label, auth) => {
      const response = await listDeadLettersRequest(request('GET', '/api/admin/dlq', { auth }), deps);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    it('refuses everyone when no admin password is configured', async () => {
      const response = await listDeadLettersRequest(request('GET', '/api/admin/dlq', { auth: basic('admin', '') }), {
        ...deps,
        admin: { user: 'admin' },
      });
      expect(response.status).toBe(401);
    });
  });

  it('refuses a state-changing request from another site with 403 and changes nothing', async () => {
    const letter = await deadLetter();
    const response = await replayDeadLettersRequest(
      request('POST', `/api/admin/dlq/${letter.id}/replay`, { origin: 'https://evil.example' }),
      deps,
      String(letter.id),
    );
    expect(response.status).toBe(403);
    expect((await stack.db.deadLetter.findUniqueOrThrow({ where: { id: letter.id } })).resolution).toBeNull();
  });

  it('lists dead letters with their whole failure context, filtered by queue and error text', async () => {
    const marker = `marker-${crypto.randomUUID()}`;
    const letter = await deadLetter(`crm: answered 422 ${marker}`);
    await deadLetter('crm: answered 503 something else');
    const response = await listDeadLettersRequest(
      request('GET', `/api/admin/dlq?queue=crm&error=${encodeURIComponent(marker.toUpperCase())}`),
      deps,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { deadLetters: Array<Record<string, unknown>> };
    expect(body.deadLetters).toHaveLength(1);
    expect(body.deadLetters[0]).toMatchObject({
      id: String(letter.id),
      queue: 'crm',
      jobName: 'sync-crm-contact',
      payload: letter.payload,
      attemptErrors: [expect.objectContaining({ attempt: 1 })],
    });
  });

  it('refuses bad filters with 400', async () => {
    for (const query of ['queue=nope', 'limit=0', 'limit=101', 'after=yesterday', 'beforeId=-1']) {
      const response = await listDeadLettersRequest(request('GET', `/api/admin/dlq?${query}`), deps);
      expect(response.status, query).toBe(400);
    }
  });

  it('replays one dead letter with fresh attempts and records who did it', async () => {
    const letter = await deadLetter();
    const response = await replayDeadLettersRequest(
      request('POST', `/api/admin/dlq/${letter.id}/replay`, { origin: 'http://app.test' }),
      deps,
      String(letter.id),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ replayed: 1, skipped: 0 });
    const job = await stack.queues.crm.getJob(letter.jobId);
    expect(job?.data).toEqual(letter.payload);
    expect(job?.opts.attempts).toBe(syncCrmContact.options.attempts);
    expect(await stack.db.deadLetter.findUniqueOrThrow({ where: { id: letter.id } })).toMatchObject({
      resolution: 'replayed',
      resolvedBy: 'admin',
    });
    const [action] = await stack.db.deadLetterAction.findMany({ where: { action: 'replay' }, orderBy: { id: 'desc' }, take: 1 });
    expect(action).toMatchObject({ actor: 'admin', count: 1, deadLetterIds: [String(letter.id)] });

    const again = await replayDeadLettersRequest(request('POST', `/api/admin/dlq/${letter.id}/replay`), deps, String(letter.id));
    expect(again.status).toBe(404);
  });

  it('replays a selection at the capped rate, each job due 1/rate seconds after the previous', async () => {
    const letters = [await deadLetter(), await deadLetter(), await deadLetter()];
    const response = await replayDeadLettersRequest(
      request('POST', '/api/admin/dlq/replay', { body: { ids: letters.map((letter) => String(letter.id)), note: 'CRM fixed' } }),
      deps,
    );
    expect(await response.json()).toMatchObject({ replayed: 3, lastDueInMs: 500 });
    const delays = await Promise.all(letters.map(async (letter) => (await stack.queues.crm.getJob(letter.jobId))?.delay));
    // replayPerSecond is 4 here: 0, 250, 500 ms.
    expect(delays).toEqual([0, 250, 500]);
  });

  it('refuses a replay body that names neither ids nor a queue', async () => {
    for (const body of [{}, { ids: [] }, { queue: 'nope' }, { ids: ['x'] }, { ids: ['1'], queue: 'crm' }]) {
      const response = await replayDeadLettersRequest(request('POST', '/api/admin/dlq/replay', { body }), deps);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('discards only with a reason, and audits it', async () => {
    const letter = await deadLetter();
    const withoutReason = await discardDeadLetterRequest(request('DELETE', `/api/admin/dlq/${letter.id}`), deps, String(letter.id));
    expect(withoutReason.status).toBe(400);
    expect((await stack.db.deadLetter.findUniqueOrThrow({ where: { id: letter.id } })).resolution).toBeNull();

    const response = await discardDeadLetterRequest(
      request('DELETE', `/api/admin/dlq/${letter.id}`, { body: { reason: 'test account' } }),
      deps,
      String(letter.id),
    );
    expect(response.status).toBe(200);
    expect(await stack.db.deadLetter.findUniqueOrThrow({ where: { id: letter.id } })).toMatchObject({
      resolution: 'discarded',
      resolvedBy: 'admin',
      resolutionNote: 'test account',
    });
    const [action] = await stack.db.deadLetterAction.findMany({ where: { action: 'discard' }, orderBy: { id: 'desc' }, take: 1 });
    expect(action).toMatchObject({ actor: 'admin', count: 1, note: 'test account' });
  });
});
