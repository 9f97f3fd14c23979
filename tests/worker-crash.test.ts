// The reaper: a worker that dies mid-job loses nothing (its lock expires and another worker runs
// the job again, applying the effect once), and one asked to stop finishes or hands back its jobs.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { generateAvatar, syncCrmContact } from '@/workers/jobs/job-contracts';
import { quietLog, startTestStack, waitFor, type TestStack } from '@/tests/helpers/test-stack';
import { startValkeyProcess } from '@/tests/helpers/valkey-process';
import { startWorkerProcess } from '@/tests/helpers/worker-process';

let stack: TestStack;
let rescuer: RunningWorkers | undefined;

beforeAll(async () => {
  // Short locks so a dead worker's jobs come back in seconds instead of the production ~20 s.
  stack = await startTestStack({
    WORKER_QUEUES: 'crm',
    WORKER_LOCK_DURATION_MS: '2000',
    WORKER_STALLED_INTERVAL_MS: '1000',
  });
});
afterAll(async () => {
  await rescuer?.close(5_000);
  await stack.close();
});

const state = async (userId: string) => (await stack.queues.crm.getJob(syncCrmContact.jobId({ userId })))?.getState();
const contacts = (users: string[]) => stack.db.crmContact.count({ where: { userId: { in: users } } });
const crmKeys = async (users: string[]) =>
  (await stack.inspect('crm')).filter((record) => users.some((userId) => record.key === syncCrmContact.jobId({ userId })));

function startRescuer() {
  rescuer = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
  return rescuer;
}

describe('a worker killed with SIGKILL while its job runs', () => {
  it('loses nothing: the job is run again by another worker and its effect exists once', async () => {
    await stack.setFault('crm', { mode: 'slow', latencyMs: 3_000 });
    const victim = await startWorkerProcess(stack.config);
    const userId = await stack.signUp();
    await waitFor(async () => (await state(userId)) === 'active', { what: 'the job to start' });

    victim.child.kill('SIGKILL');
    expect((await victim.exited()).signal).toBe('SIGKILL');
    await stack.setFault('crm', { mode: 'up' });
    const survivor = startRescuer();

    await waitFor(async () => (await contacts([userId])) === 1, { what: 'the contact', timeoutMs: 20_000 });
    // The effect row is written a moment before BullMQ records the attempt as completed.
    await waitFor(async () => (await state(userId)) === 'completed', { what: 'completion' });
    const job = await stack.queues.crm.getJob(syncCrmContact.jobId({ userId }));
    // The crash cost no attempt: a stalled job goes back to waiting, not to failed.
    expect(job?.attemptsMade).toBe(1);
    // One contact at the CRM: the killed worker's request and the rerun share one idempotency key.
    expect(await crmKeys([userId])).toHaveLength(1);
    await survivor.close(5_000);
    rescuer = undefined;
  });
});

describe('a worker killed with SIGKILL while an avatar renders in its sandbox', () => {
  it('takes the sandbox child process down with it', async () => {
    await stack.setFault('storage', { mode: 'slow', latencyMs: 3_000 });
    const victim = await startWorkerProcess(stack.config, { WORKER_QUEUES: 'avatar' });
    const userId = await stack.signUp();
    const avatarState = async () => (await stack.queues.avatar.getJob(generateAvatar.jobId({ userId })))?.getState();
    await waitFor(async () => (await avatarState()) === 'active', { what: 'the avatar job to start' });
    const sandboxes = await waitFor(() => childrenOf(victim.child.pid as number), { what: 'the sandbox child' });

    victim.child.kill('SIGKILL');
    await victim.exited();
    await stack.setFault('storage', { mode: 'up' });
    await waitFor(() => sandboxes.every((pid) => !isAlive(pid)), { what: 'the orphaned sandbox to exit', timeoutMs: 10_000 });
  });
});

/** The direct children of a process, from /proc (Linux). */
function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a worker asked to stop with SIGTERM', () => {
  it('finishes its running jobs before exiting, and none is lost, stuck or doubled', async () => {
    await stack.setFault('crm', { mode: 'slow', latencyMs: 1_000 });
    const worker = await startWorkerProcess(stack.config);
    const users = await Promise.all(Array.from({ length: 5 }, () => stack.signUp()));
    await waitFor(async () => (await stack.queues.crm.getActiveCount()) > 0, { what: 'running jobs' });

    worker.child.kill('SIGTERM');
    expect(await worker.exited()).toEqual({ code: 0, signal: null });
    expect(worker.output()).toMatch(/"msg":"stopped"/);
    expect(await stack.queues.crm.getActiveCount()).toBe(0);
    await stack.setFault('crm', { mode: 'up' });

    // Whatever it had not started is still queued for the next worker.
    const next = startRescuer();
    await waitFor(async () => (await contacts(users)) === users.length, { what: 'every contact', timeoutMs: 20_000 });
    const records = await crmKeys(users);
    expect(records).toHaveLength(users.length);
    expect(records.every((record) => record.deliveries === 1)).toBe(true);
    await next.close(5_000);
    rescuer = undefined;
  });

  it('hands back jobs still running at its shutdown deadline, and another worker completes them once', async () => {
    await stack.setFault('crm', { mode: 'slow', latencyMs: 4_000 });
    const worker = await startWorkerProcess(stack.config, { WORKER_SHUTDOWN_DEADLINE_MS: '300' });
    const userId = await stack.signUp();
    await waitFor(async () => (await state(userId)) === 'active', { what: 'the job to start' });

    worker.child.kill('SIGTERM');
    expect((await worker.exited()).code).toBe(0);
    expect(worker.output()).toMatch(/shutdown deadline passed/);
    await stack.setFault('crm', { mode: 'up' });

    const next = startRescuer();
    await waitFor(async () => (await contacts([userId])) === 1, { what: 'the contact', timeoutMs: 20_000 });
    expect(await crmKeys([userId])).toHaveLength(1);
    await next.close(5_000);
    rescuer = undefined;
  });
});

describe('a worker asked to stop while Valkey is gone', () => {
  it('still exits cleanly within its deadline', async () => {
    const valkey = await startValkeyProcess();
    try {
      const config = { ...stack.config, valkey: { url: valkey.url }, workerShutdownDeadlineMs: 1_000 };
      const worker = await startWorkerProcess(config);
      await valkey.stop();
      await waitFor(() => worker.output().includes('valkey unreachable'), { what: 'the worker to notice' });

      worker.child.kill('SIGTERM');
      expect(await worker.exited()).toEqual({ code: 0, signal: null });
      expect(worker.output()).toMatch(/"msg":"stopped"/);
    } finally {
      await valkey.stop();
    }
  });
});
