// POST /api/admin/jobs/<queue>/<id>/cancel through its Request → Response function: closed to
// strangers and other sites, refusing bad input with a 400 that changes nothing, and saying what
// happened to the job.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'bullmq';
import { cancelJobRequest, type JobAdminDeps } from '@/app/_admin/jobs/job-requests';
import { queuePrefix } from '@/lib/queues';
import { jobOptions, syncCrmContact } from '@/workers/jobs/job-contracts';
import { adminRequest, basicAuth as basic } from '@/tests/helpers/admin-request';
import { startTestStack, type TestStack } from '@/tests/helpers/test-stack';

const ADMIN = { user: 'admin', password: 'correct horse battery staple' };

let stack: TestStack;
let deps: JobAdminDeps;

beforeAll(async () => {
  stack = await startTestStack();
  deps = { db: stack.db, queues: stack.queues, valkey: stack.producer, queuePrefix: stack.config.queuePrefix, admin: ADMIN };
});
afterAll(() => stack.close());

/** A waiting CRM job of a user nobody else uses. */
async function waitingJob(): Promise<string> {
  const userId = crypto.randomUUID();
  const jobId = syncCrmContact.jobId({ userId });
  await stack.queues.crm.add(syncCrmContact.name, { userId }, { ...jobOptions(syncCrmContact.name), jobId });
  return jobId;
}

function cancel(queue: string, id: string, body: unknown, options: { auth?: string | null; origin?: string } = {}) {
  const request = adminRequest('POST', `/api/admin/jobs/${queue}/${id}/cancel`, {
    rightAuth: basic(ADMIN.user, ADMIN.password),
    body,
    ...options,
  });
  return cancelJobRequest(request, deps, { queue, id });
}

async function untouched(jobId: string) {
  expect(await (await stack.queues.crm.getJob(jobId))?.getState()).toBe('waiting');
  expect(await stack.db.deadLetter.count({ where: { jobId } })).toBe(0);
}

describe('POST /api/admin/jobs/<queue>/<id>/cancel', () => {
  it('cancels a waiting job and answers with its dead letter', async () => {
    const jobId = await waitingJob();
    const response = await cancel('crm', jobId, { reason: 'test account' });

    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; was: string; deadLetterId: string };
    expect(body).toMatchObject({ status: 'cancelled', queue: 'crm', jobId, was: 'waiting' });
    const letter = await stack.db.deadLetter.findUniqueOrThrow({ where: { id: BigInt(body.deadLetterId) } });
    expect(letter).toMatchObject({ jobId, kind: 'cancelled' });
    const [audit] = await stack.db.deadLetterAction.findMany({ where: { action: 'cancel', deadLetterIds: { equals: [body.deadLetterId] } } });
    expect(audit).toMatchObject({ actor: 'admin', queue: 'crm', note: 'test account', count: 1 });
  });

  it.each([
    ['no reason', {}, 'reason'],
    ['an empty reason', { reason: '   ' }, 'reason'],
    ['a reason over 500 characters', { reason: 'x'.repeat(501) }, 'reason'],
    ['a body that is not JSON', 'reason=please', 'reason'],
  ])('refuses %s with 400 and changes nothing', async (_label, body, field) => {
    const jobId = await waitingJob();
    const response = await cancel('crm', jobId, body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: Record<string, string> }).errors).toHaveProperty(field);
    await untouched(jobId);
  });

  it('refuses an unknown queue with 400, naming the queues', async () => {
    const response = await cancel('billing', 'sync-crm-contact-1', { reason: 'wrong queue' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/Unknown queue; expected one of email, crm/);
  });

  it('refuses a malformed job id with 400', async () => {
    const response = await cancel('crm', '../../etc', { reason: 'bad id' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: Record<string, string> }).errors).toHaveProperty('id');
  });

  it('answers 404 for a job the queue does not hold, and writes nothing', async () => {
    const jobId = syncCrmContact.jobId({ userId: crypto.randomUUID() });
    const response = await cancel('crm', jobId, { reason: 'no such job' });
    expect(response.status).toBe(404);
    expect(await stack.db.deadLetter.count({ where: { jobId } })).toBe(0);
  });

  it('answers 409 for a job that has already completed, and writes nothing', async () => {
    await stack.queues.crm.drain(true);
    const jobId = await waitingJob();
    // A worker's manual-processing path (BullMQ's getNextJob): take the job, complete it.
    const worker = new Worker('crm', undefined, { connection: stack.workerConnection(), prefix: queuePrefix(stack.config.queuePrefix, 'crm'), autorun: false });
    try {
      const job = await worker.getNextJob('test-token');
      expect(job?.id).toBe(jobId);
      await job?.moveToCompleted({ status: 'applied' }, 'test-token', false);
    } finally {
      await worker.close();
    }

    const response = await cancel('crm', jobId, { reason: 'too late' });
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ state: 'completed' });
    expect(await stack.db.deadLetter.count({ where: { jobId } })).toBe(0);
  });

  it('refuses a browser request from another site with 403 and changes nothing', async () => {
    const jobId = await waitingJob();
    const response = await cancel('crm', jobId, { reason: 'cross-site' }, { origin: 'https://evil.example' });
    expect(response.status).toBe(403);
    await untouched(jobId);
  });

  it('refuses a request without credentials with 401', async () => {
    const jobId = await waitingJob();
    const response = await cancel('crm', jobId, { reason: 'stranger' }, { auth: null });
    expect(response.status).toBe(401);
    await untouched(jobId);
  });
});
