// The avatar queue renders in BullMQ's sandboxed child process, and only there: the worker process
// reaches render-avatar.ts through the job definitions but must not load sharp, whose libvips
// would cost it memory for a library only the sandbox uses.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, waitFor, type TestStack } from '@/tests/helpers/test-stack';
import { startWorkerProcess, type WorkerProcess } from '@/tests/helpers/worker-process';

let stack: TestStack;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  stack = await startTestStack({ WORKER_QUEUES: 'avatar' });
});
afterAll(async () => {
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGTERM');
    await worker.exited();
  }
  await stack.close();
});

describe('a worker process serving the avatar queue', () => {
  // A cold worker and a cold sandbox each compile their TypeScript through tsx: seconds on 2 cores.
  it('renders avatars in its sandbox, the only process with libvips loaded', async () => {
    worker = await startWorkerProcess(stack.config);
    const pid = worker.child.pid as number;
    const userId = await stack.signUp();
    await waitFor(async () => (await stack.db.avatar.count({ where: { userId } })) === 1, {
      what: 'the avatar',
      timeoutMs: 30_000,
    });

    expect(mapsLibvips(pid)).toBe(false);
    // The sandbox that rendered stays alive for the next job, libvips mapped: what the check above
    // looks for is really there to be found.
    expect(childrenOf(pid).some(mapsLibvips)).toBe(true);
  }, 60_000);
});

/** The direct children of a process, from /proc (Linux). */
function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
}

/** Whether the process has sharp's libvips mapped into its memory. */
function mapsLibvips(pid: number): boolean {
  return readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libvips');
}
