// Erasure against the real stack (docs/failure-model.md#erasure): deleting an account enqueues,
// through the outbox, one erasure job per provider, and afterwards no provider holds anything of
// that person, whatever was in flight: a CRM call held by `hang`, a create that lands after the
// erasure, a provider down, a job Valkey lost.
//
// This file starts its own mocks, with an observer, and points the stack at them: the late-create
// test must know that the CRM has the request in hand before it deletes the account.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { createSignup } from '@/app/_signup/create-signup';
import { deleteAccount } from '@/app/_signup/delete-account';
import type { ProviderRequestEvent } from '@/infra/mock-providers/mock-state';
import type { InspectEntry } from '@/infra/mock-providers/provider-records';
import { startMockProviders, type MockProviders } from '@/infra/mock-providers/start-mock-providers';
import { createHandlerContext, type HandlerContext } from '@/workers/jobs/handler-context';
import { eraseCrmContact, ERASURE_JOBS, syncCrmContact, type JobContract } from '@/workers/jobs/job-contracts';
import { reconcileOnce } from '@/workers/maintenance/reconciler';
import { processJob } from '@/workers/runtime/process-job';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { backdate } from '@/tests/helpers/reconcile-window';
import { quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';

let mocks: MockProviders;
let mocksUrl: string;
let stack: TestStack;
let ctx: HandlerContext;
const requests: ProviderRequestEvent[] = [];
const users: string[] = [];

beforeAll(async () => {
  mocks = await startMockProviders({ httpPort: 0, smtpPort: 0, onRequest: (event) => requests.push(event) });
  mocksUrl = `http://127.0.0.1:${mocks.httpPort}`;
  stack = await startTestStack({
    MOCKS_HTTP_PORT: String(mocks.httpPort),
    MOCKS_SMTP_PORT: String(mocks.smtpPort),
    // Long enough for a create held CREATE_LATENCY_MS to be answered, on a busy machine too.
    PROVIDER_TIMEOUT_MS: '5000',
  });
  ctx = createHandlerContext(stack.config, stack.pool);
});
afterAll(async () => {
  // Nothing for another file's relay or reconciler pass to find in the shared database.
  await stack.db.$executeRaw`DELETE FROM outbox_messages WHERE payload->>'userId' = ANY(${users}::text[])`;
  ctx.mailer.close();
  await stack.close();
  await mocks.close();
});

const ERASING_PROVIDERS = ['crm', 'analytics', 'storage'] as const;

/** How long the late create is held: ample time for the deletion and the erasure to go first. */
const CREATE_LATENCY_MS = 3_000;

interface Person {
  userId: string;
  token: string;
  email: string;
  name: string;
}

async function signUp(): Promise<Person> {
  const signup = uniqueSignup();
  const outcome = await createSignup(signup, { pool: stack.pool, queues: stack.queues, followUpDelayMs: stack.config.followUpDelayMs });
  if (outcome.status !== 'created' || !outcome.dispatched) throw new Error(`signup was not dispatched: ${outcome.status}`);
  users.push(outcome.userId);
  return { userId: outcome.userId, token: outcome.statusToken, email: signup.email, name: signup.name };
}

async function deleteIt(person: Person): Promise<void> {
  expect(await deleteAccount(person.token, { pool: stack.pool, queues: stack.queues })).toMatchObject({
    status: 'deleted',
    erasuresDispatched: true,
  });
}

async function setFault(provider: string, fault: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${mocksUrl}/__faults/${provider}`, { method: 'PUT', body: JSON.stringify(fault) });
  if (!response.ok) throw new Error(`setting fault failed: ${response.status}`);
}

async function inspect(provider: string): Promise<InspectEntry[]> {
  return (await (await fetch(`${mocksUrl}/__inspect/${provider}`)).json()) as InspectEntry[];
}

/** The provider's records of what this person's jobs created (not the deletes that emptied them). */
async function recordsOf(provider: string, person: Person): Promise<InspectEntry[]> {
  return (await inspect(provider)).filter((entry) => entry.key.includes(person.userId) && !entry.key.startsWith('DELETE '));
}

async function erasures(person: Person) {
  return stack.db.erasure.findMany({ where: { userId: person.userId }, orderBy: { jobId: 'asc' } });
}

async function effectsAtProviders(person: Person): Promise<boolean> {
  const { userId } = person;
  const counts = await Promise.all([
    stack.db.crmContact.count({ where: { userId } }),
    stack.db.avatar.count({ where: { userId } }),
    stack.db.analyticsEvent.count({ where: { userId } }),
  ]);
  return counts.every((count) => count === 1);
}

async function finished(contract: JobContract, person: Person): Promise<Job> {
  return waitFor(
    async () => {
      const job = await stack.queues[contract.queue].getJob(contract.jobId({ userId: person.userId }));
      return job?.finishedOn ? job : undefined;
    },
    { what: `${contract.name} to finish` },
  );
}

/** Every erasure recorded once, and every job that created something for the person finished. */
async function waitForErasure(person: Person): Promise<void> {
  await waitFor(async () => (await erasures(person)).length === ERASURE_JOBS.length, { what: 'three erasures recorded' });
  await finished(syncCrmContact, person);
}

/** "No provider holds anything for that person", as the providers themselves show it. */
async function expectNothingHeld(person: Person): Promise<void> {
  for (const provider of ERASING_PROVIDERS) {
    for (const record of await recordsOf(provider, person)) {
      expect(record, `${provider} ${record.key}`).toMatchObject({ body: null, deletedAt: expect.any(String) });
    }
    const everything = JSON.stringify(await inspect(provider));
    expect(everything).not.toContain(person.email);
    expect(everything).not.toContain(person.name);
  }
  expect((await fetch(`${mocksUrl}/storage/avatars/${person.userId}.png`)).status).toBe(404);
  const recorded = await erasures(person);
  expect(recorded.map((row) => row.jobId)).toEqual(ERASURE_JOBS.map((contract) => contract.jobId({ userId: person.userId })).sort());
  expect(recorded.map((row) => row.provider).sort()).toEqual([...ERASING_PROVIDERS].sort());
}

describe('deleting an account, with workers running', () => {
  let workers: RunningWorkers;

  beforeAll(() => {
    // Retries a tenth of a second apart: the policy's delays are minutes, the behaviour the same.
    const retryAt = () => 100;
    workers = startWorkers({
      config: stack.config,
      pool: stack.pool,
      connection: stack.workerConnection(),
      log: quietLog,
      backoff: { email: retryAt, crm: retryAt, avatar: retryAt, analytics: retryAt },
    });
  });
  afterAll(async () => {
    await setFault('all', { mode: 'up' });
    await workers?.close(5_000);
  });

  it('writes one erasure job per provider in the outbox and dispatches them at once', async () => {
    const person = await signUp();
    await waitFor(() => effectsAtProviders(person), { what: 'the signup jobs to finish' });
    await deleteIt(person);

    const rows = await stack.db.outboxMessage.findMany({
      where: { jobId: { in: ERASURE_JOBS.map((contract) => contract.jobId({ userId: person.userId })) } },
    });
    expect(rows.map((row) => [row.queue, row.jobName, row.payload, row.dispatchedAt !== null]).sort()).toEqual(
      ERASURE_JOBS.map((contract) => [contract.queue, contract.name, { userId: person.userId }, true]).sort(),
    );
    await waitForErasure(person);
    for (const provider of ERASING_PROVIDERS) expect(await recordsOf(provider, person), provider).not.toHaveLength(0);
    await expectNothingHeld(person);
  });

  describe('while its CRM call is held in flight', () => {
    it('leaves nothing at any provider once the CRM answers again', async () => {
      await setFault('crm', { mode: 'hang' });
      const person = await signUp();
      // `hang` applies the create and never answers: the contact exists, the job is still waiting.
      await waitFor(async () => (await recordsOf('crm', person)).length === 1, { what: 'the CRM to hold the create' });
      await waitFor(async () => (await stack.db.avatar.count({ where: { userId: person.userId } })) === 1, { what: 'the avatar' });
      await waitFor(async () => (await stack.db.analyticsEvent.count({ where: { userId: person.userId } })) === 1, {
        what: 'the analytics event',
      });
      expect(await stack.db.crmContact.count({ where: { userId: person.userId } })).toBe(0);

      await deleteIt(person);
      await setFault('crm', { mode: 'up' });

      await waitForErasure(person);
      expect((await finished(syncCrmContact, person)).returnvalue).toEqual({ status: 'skipped', reason: 'user deleted' });
      await expectNothingHeld(person);
    });
  });

  describe('when the create lands after the erasure ran', () => {
    it('has the job that sent it delete it, and skip', async () => {
      // The create is applied and answered CREATE_LATENCY_MS after it arrives, within the timeout.
      await setFault('crm', { mode: 'slow', latencyMs: CREATE_LATENCY_MS });
      const since = Date.now();
      const person = await signUp();
      await waitFor(() => requests.some((event) => event.provider === 'crm' && event.at >= since), { what: 'the CRM to receive the create' });

      // The create keeps the delay it was given; the erasure's delete, sent after, is served at once.
      await setFault('crm', { mode: 'up' });
      await deleteIt(person);
      await finished(eraseCrmContact, person);

      const sync = await finished(syncCrmContact, person);
      expect(sync.returnvalue).toEqual({ status: 'skipped', reason: 'user deleted' });
      const [contact] = await recordsOf('crm', person);
      const deletes = (await inspect('crm')).find((entry) => entry.key === `DELETE /crm/contacts/by-external-id/${person.userId}`);
      // The order this test is about: the erasure's delete came first and found nothing; the
      // contact was created after it, and the sync's own delete emptied it.
      expect(new Date(contact?.firstAt ?? 0).getTime()).toBeGreaterThan(new Date(deletes?.firstAt ?? Infinity).getTime());
      expect(deletes).toMatchObject({ deliveries: 2, body: { removed: 1 } });
      expect(contact).toMatchObject({ body: null, deletedAt: expect.any(String) });
      await waitForErasure(person);
      await expectNothingHeld(person);
    });
  });

  describe('when a provider is down during the erasure', () => {
    it('retries the erasure until the provider is back, then records it once', async () => {
      const person = await signUp();
      await waitFor(() => effectsAtProviders(person), { what: 'the signup jobs to finish' });
      await setFault('crm', { mode: 'down' });
      await deleteIt(person);

      const deletes = `DELETE /crm/contacts/by-external-id/${person.userId}`;
      await waitFor(async () => ((await inspect('crm')).find((entry) => entry.key === deletes)?.failures ?? 0) >= 2, {
        what: 'two failed attempts',
      });
      expect((await recordsOf('crm', person))[0]).toMatchObject({ deletedAt: null });
      expect((await erasures(person)).map((row) => row.provider)).not.toContain('crm');

      await setFault('crm', { mode: 'up' });
      await waitForErasure(person);
      const job = await finished(eraseCrmContact, person);
      expect(job.returnvalue).toMatchObject({ status: 'applied' });
      expect(job.attemptsMade).toBeGreaterThanOrEqual(3);
      await expectNothingHeld(person);
    });
  });

  describe('when an erasure job runs again', () => {
    it('completes as already done, and a repeat whose record was lost deletes nothing new and records once', async () => {
      const person = await signUp();
      await waitFor(() => effectsAtProviders(person), { what: 'the signup jobs to finish' });
      await deleteIt(person);
      await waitForErasure(person);
      const controls = { rateLimit: async () => undefined };

      for (const contract of ERASURE_JOBS) {
        expect(await processJob({ name: contract.name, data: { userId: person.userId } }, ctx, controls)).toEqual({ status: 'already-done' });
      }
      // As if a worker died between the provider's answer and the record: the delete is sent again.
      await stack.db.erasure.deleteMany({ where: { userId: person.userId } });
      for (const contract of ERASURE_JOBS) {
        expect(await processJob({ name: contract.name, data: { userId: person.userId } }, ctx, controls)).toMatchObject({
          status: 'applied',
        });
      }
      const crmDeletes = (await inspect('crm')).find((entry) => entry.key === `DELETE /crm/contacts/by-external-id/${person.userId}`);
      expect(crmDeletes?.deliveries).toBeGreaterThanOrEqual(2);
      expect(crmDeletes?.body).toMatchObject({ removed: 1 });
      await expectNothingHeld(person);
    });
  });
});

describe('when Valkey lost the erasure jobs', () => {
  it('the reconciler puts them back though the user is gone, and the workers then erase', async () => {
    const person = await signUp();
    await deleteIt(person);
    const ids = ERASURE_JOBS.map((contract) => ({ queue: contract.queue, id: contract.jobId({ userId: person.userId }) }));
    for (const { queue, id } of ids) expect(await stack.queues[queue].remove(id)).toBe(1);

    const { window } = await backdate(stack.db, [person.userId]);
    expect(await reconcileOnce(stack.pool, stack.queues, window)).toEqual({ checked: 3, reenqueued: 3, deadLettersWritten: 0 });
    for (const { queue, id } of ids) expect(await stack.queues[queue].getJob(id), id).toBeDefined();

    const workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
    try {
      await waitForErasure(person);
    } finally {
      await workers.close(5_000);
    }
    await expectNothingHeld(person);
    expect(await reconcileOnce(stack.pool, stack.queues, window)).toEqual({ checked: 0, reenqueued: 0, deadLettersWritten: 0 });
  });
});
