// A worker process's database connections are its pool size, whatever its concurrency: jobs hold a
// connection only for their short queries, never across a provider call, so 30 jobs in flight
// share 3 connections. That is what makes "processes × pool size" the whole arithmetic of
// PostgreSQL's connection budget (docs/backpressure.md, "Database connections").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@/lib/sql';
import { trackSignupEvent } from '@/workers/jobs/job-contracts';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';

const POOL = 3;
const CONCURRENCY = 30;
const JOBS = 300;

let stack: TestStack;
let pool: Pool;
let workers: RunningWorkers;
const applicationName = `pool-test-${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  stack = await startTestStack({ WORKER_QUEUES: 'analytics' });
  pool = createPool(stack.config.databaseUrl, { maxConnections: POOL, applicationName });
});
afterAll(async () => {
  await workers?.close(5_000);
  await pool.end();
  await stack.close();
});

async function connectionsInUse(): Promise<number> {
  const [row] = await stack.db.$queryRaw<Array<{ count: bigint }>>`
    SELECT count(*) AS count FROM pg_stat_activity WHERE application_name = ${applicationName}`;
  return Number(row?.count ?? 0);
}

describe(`a worker process with concurrency ${CONCURRENCY} and a pool of ${POOL}`, () => {
  it('finishes every job while never holding more than its pool', async () => {
    const users = Array.from({ length: JOBS }, () => crypto.randomUUID());
    await stack.db.user.createMany({
      data: users.map((id) => {
        const signup = uniqueSignup();
        return { id, email: signup.email, name: signup.name};
      }),
    });
    // Every provider call waits 50 ms, so all 30 slots are busy at once.
    await stack.setFault('analytics', { mode: 'slow', latencyMs: 50 });
    await stack.queues.analytics.addBulk(
      users.map((userId) => ({
        name: trackSignupEvent.name,
        data: { userId },
        opts: { ...trackSignupEvent.options, jobId: trackSignupEvent.jobId({ userId }) },
      })),
    );

    workers = startWorkers({
      config: stack.config,
      pool,
      connection: stack.workerConnection(),
      log: quietLog,
      concurrency: { analytics: CONCURRENCY },
    });
    let peak = 0;
    let peakActive = 0;
    await waitFor(
      async () => {
        peak = Math.max(peak, await connectionsInUse());
        peakActive = Math.max(peakActive, (await stack.queues.analytics.getActiveCount()) ?? 0);
        return (await stack.db.analyticsEvent.count({ where: { userId: { in: users } } })) === JOBS;
      },
      { what: `${JOBS} analytics events`, timeoutMs: 60_000, intervalMs: 20 },
    );

    expect(peakActive).toBeGreaterThan(POOL);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(POOL);
  }, 90_000);
});
