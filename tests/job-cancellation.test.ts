// Cancelling a job as an operator (docs/failure-model.md#cancelling-a-job): a waiting or delayed job
// is taken off its queue, an active one has its attempt aborted in whichever worker process runs it
// (the avatar sandbox's child included); each ends as a dead letter of kind 'cancelled', never
// retried, re-run by replaying it, and audited. A worker's shutdown aborts through the same signal
// but hands its running jobs back to the queue without spending an attempt.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cancelJob, type CancelJobDeps } from '@/app/_admin/jobs/cancel-job';
import { replayDeadLetters } from '@/app/_admin/dead-letters/dead-letters';
import { QUEUE_NAMES, type QueueName } from '@/lib/queues';
import { generateAvatar, jobOptions, syncCrmContact } from '@/workers/jobs/job-contracts';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { quietLog, startTestStack, waitFor, type TestStack } from '@/tests/helpers/test-stack';
import { startWorkerProcess, type WorkerProcess } from '@/tests/helpers/worker-process';

let stack: TestStack;
let deps: CancelJobDeps;
let running: RunningWorkers | undefined;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  // A hung provider call must outlast each test, so only a cancellation can end it.
  stack = await startTestStack({ WORKER_QUEUES: 'crm', PROVIDER_TIMEOUT_MS: '60000' });
  deps = { db: stack.db, queues: stack.queues, valkey: stack.producer, queuePrefix: stack.config.queuePrefix };
});
// A signup queues four jobs; those a test does not run must not sit in front of the next test's.
beforeEach(() => Promise.all(QUEUE_NAMES.map((queue) => stack.queues[queue].drain(true))));
afterEach(async () => {
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGKILL');
    await worker.exited();
  }
  worker = undefined;
  await running?.close(1_000);
  running = undefined;
  await stack.setFault('crm', { mode: 'up' });
  await stack.setFault('storage', { mode: 'up' });
});
afterAll(() => stack.close());

/** The test database outlives a run, and reasons find this run's audit rows. */
const run = crypto.randomUUID().slice(0, 8);
const JOBS = { crm: syncCrmContact, avatar: generateAvatar } as const;
const jobOf = (queue: 'crm' | 'avatar', userId: string) => stack.queues[queue].getJob(JOBS[queue].jobId({ userId }));
const stateOf = async (queue: 'crm' | 'avatar', userId: string) => (await jobOf(queue, userId))?.getState();
const lettersOf = (jobId: string) => stack.db.deadLetter.findMany({ where: { jobId } });
const auditOf = (note: string) => stack.db.deadLetterAction.findMany({ where: { action: 'cancel', note } });

/** Until the job's attempt is inside its (hung) provider call: the mocks record a request on arrival. */
async function inProviderCall(queue: 'crm' | 'avatar', userId: string) {
  const provider = queue === 'crm' ? 'crm' : 'storage';
  const key = JOBS[queue].jobId({ userId });
  // A cold sandbox child compiles its TypeScript through tsx first: seconds on two cores.
  await waitFor(async () => (await stack.inspect(provider)).some((record) => record.key === key), {
    what: `the ${queue} job's call to ${provider}`,
    timeoutMs: 30_000,
  });
}

function startInProcessWorkers(queues: QueueName[] = ['crm']) {
  running = startWorkers({
    config: { ...stack.config, workerQueues: queues },
    pool: stack.pool,
    connection: stack.workerConnection(),
    log: quietLog,
  });
  return running;
}

describe('cancelling a waiting job', () => {
  it('takes it off its queue as a cancelled dead letter, audited, which a replay runs again', async () => {
    const userId = await stack.signUp();
    const jobId = syncCrmContact.jobId({ userId });
    expect(await stateOf('crm', userId)).toBe('waiting');

    const outcome = await cancelJob(deps, { queue: 'crm', jobId, reason: `duplicate account ${run}`, actor: 'alice' });

    expect(outcome).toMatchObject({ status: 'cancelled', was: 'waiting' });
    expect(await jobOf('crm', userId)).toBeUndefined();
    const [letter, ...others] = await lettersOf(jobId);
    expect(others).toHaveLength(0);
    expect(letter).toMatchObject({ kind: 'cancelled', queue: 'crm', lastError: `cancelled by an operator: duplicate account ${run}`, resolution: null });
    expect(outcome.status === 'cancelled' && outcome.deadLetterId).toBe(letter?.id);
    expect(await auditOf(`duplicate account ${run}`)).toMatchObject([
      { actor: 'alice', queue: 'crm', count: 1, deadLetterIds: [String(letter?.id)] },
    ]);

    await replayDeadLetters(stack.db, stack.queues, { ids: [outcome.status === 'cancelled' ? outcome.deadLetterId : 0n] }, { actor: 'alice', perSecond: 10 });
    startInProcessWorkers();
    await waitFor(async () => (await stateOf('crm', userId)) === 'completed', { what: 'the re-run' });
    expect(await stack.db.crmContact.count({ where: { userId } })).toBe(1);
  });
});

describe('cancelling a delayed job', () => {
  it('takes it off its queue as a cancelled dead letter', async () => {
    const userId = crypto.randomUUID();
    const jobId = syncCrmContact.jobId({ userId });
    await stack.queues.crm.add(syncCrmContact.name, { userId }, { ...jobOptions(syncCrmContact.name), jobId, delay: 60_000 });
    expect(await stateOf('crm', userId)).toBe('delayed');

    const outcome = await cancelJob(deps, { queue: 'crm', jobId, reason: `not wanted later ${run}`, actor: 'alice' });

    expect(outcome).toMatchObject({ status: 'cancelled', was: 'delayed' });
    expect(await jobOf('crm', userId)).toBeUndefined();
    expect(await lettersOf(jobId)).toMatchObject([{ kind: 'cancelled', attemptsMade: 0 }]);
    expect(await auditOf(`not wanted later ${run}`)).toHaveLength(1);
  });
});

describe('cancelling an active job', () => {
  it('aborts its attempt in the worker process running it; it fails once, as cancelled, and does not retry', async () => {
    await stack.setFault('crm', { mode: 'hang' });
    worker = await startWorkerProcess(stack.config);
    const userId = await stack.signUp();
    const jobId = syncCrmContact.jobId({ userId });
    await inProviderCall('crm', userId);

    const outcome = await cancelJob(deps, { queue: 'crm', jobId, reason: `stuck on a hung CRM ${run}`, actor: 'bob' });

    expect(outcome).toMatchObject({ status: 'cancelled', was: 'active' });
    const job = await jobOf('crm', userId);
    expect(await job?.getState()).toBe('failed');
    // Forty attempts were allowed; the cancelled one was the last.
    expect(job?.opts.attempts).toBeGreaterThan(1);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toBe(`cancelled by an operator: stuck on a hung CRM ${run}`);
    const letters = await lettersOf(jobId);
    expect(letters).toMatchObject([{ kind: 'cancelled', attemptsMade: 1 }]);
    expect(outcome.status === 'cancelled' && outcome.deadLetterId).toBe(letters[0]?.id);
    expect(await auditOf(`stuck on a hung CRM ${run}`)).toMatchObject([{ actor: 'bob', count: 1, deadLetterIds: [String(letters[0]?.id)] }]);
    expect(worker.output()).toMatch(/job cancelled by an operator/);
  }, 30_000);

  it('aborts an avatar rendering inside the sandbox child process', async () => {
    await stack.setFault('storage', { mode: 'hang' });
    worker = await startWorkerProcess(stack.config, { WORKER_QUEUES: 'avatar' });
    const userId = await stack.signUp();
    const jobId = generateAvatar.jobId({ userId });
    await inProviderCall('avatar', userId);

    const outcome = await cancelJob(deps, { queue: 'avatar', jobId, reason: `storage migration ${run}`, actor: 'bob' }, { waitMs: 10_000 });

    expect(outcome).toMatchObject({ status: 'cancelled', was: 'active' });
    const job = await jobOf('avatar', userId);
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(1);
    expect(await lettersOf(jobId)).toMatchObject([{ kind: 'cancelled', lastError: `cancelled by an operator: storage migration ${run}` }]);
  }, 60_000);
});

describe('a worker that reaches its shutdown deadline', () => {
  it.each([
    ['crm', 'in the worker process', 'crm'],
    ['avatar', 'in the sandbox child process', 'storage'],
  ] as const)('aborts a running %s job %s and hands it back without spending an attempt', async (queue, _where, provider) => {
    await stack.setFault(provider, { mode: 'hang' });
    worker = await startWorkerProcess({ ...stack.config, workerQueues: [queue], workerShutdownDeadlineMs: 300 });
    const userId = await stack.signUp();
    await inProviderCall(queue, userId);

    worker.child.kill('SIGTERM');
    expect((await worker.exited()).code).toBe(0);
    expect(worker.output()).toMatch(/running jobs handed back to the queue/);
    // Handed back as due now, not left active for the stalled-job check.
    const handedBack = await jobOf(queue, userId);
    expect(['delayed', 'waiting']).toContain(await handedBack?.getState());
    expect(handedBack?.attemptsMade).toBe(0);
    expect(await lettersOf(JOBS[queue].jobId({ userId }))).toHaveLength(0);

    await stack.setFault(provider, { mode: 'up' });
    startInProcessWorkers([queue]);
    await waitFor(async () => (await stateOf(queue, userId)) === 'completed', { what: 'the next worker to run it', timeoutMs: 30_000 });
    // The hand-back spent no attempt (asserted above). The next worker's run is not what this test
    // is about: once, in CI's integration suite, it took a second attempt, for a reason not yet
    // found. It must complete, and without a dead letter.
    expect((await jobOf(queue, userId))?.attemptsMade).toBeGreaterThanOrEqual(1);
    expect(await lettersOf(JOBS[queue].jobId({ userId }))).toHaveLength(0);
  }, 60_000);
});
