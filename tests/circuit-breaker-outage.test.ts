// The circuit breaker's promise, shown the way the failure-handling issue states it: with the CRM
// down for 60 s and 500 CRM jobs waiting, the CRM receives a handful of requests, not thousands,
// and all 500 complete once it is back, each applied once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type RunningWorkers } from '@/workers/runtime/start-workers';
import { syncCrmContact } from '@/workers/jobs/job-contracts';
import { quietLog, startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';

const JOBS = 500;
const OUTAGE_MS = 60_000;

let stack: TestStack;
let workers: RunningWorkers;

beforeAll(async () => {
  stack = await startTestStack({ WORKER_QUEUES: 'crm' });
});
afterAll(async () => {
  await workers?.close(5_000);
  await stack.close();
});

describe('the CRM circuit breaker', () => {
  it(`keeps a 60 s CRM outage down to a handful of requests for ${JOBS} waiting jobs, then completes them all once`, async () => {
    const users = Array.from({ length: JOBS }, () => crypto.randomUUID());
    await stack.db.user.createMany({
      data: users.map((id) => {
        const signup = uniqueSignup();
        return { id, email: signup.email, name: signup.name};
      }),
    });
    await stack.setFault('crm', { mode: 'down' });
    await stack.queues.crm.addBulk(
      users.map((userId) => ({
        name: syncCrmContact.name,
        data: { userId },
        opts: { ...syncCrmContact.options, jobId: syncCrmContact.jobId({ userId }) },
      })),
    );

    const outageStarted = Date.now();
    workers = startWorkers({ config: stack.config, pool: stack.pool, connection: stack.workerConnection(), log: quietLog });
    // The outage itself lasts a fixed time: this wait is the scenario, not a wait for an event.
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - (Date.now() - outageStarted)));

    const duringOutage = (await stack.inspect('crm')).reduce((sum, record) => sum + record.failures, 0);
    await stack.setFault('crm', { mode: 'up' });

    await waitFor(async () => (await stack.db.crmContact.count({ where: { userId: { in: users } } })) === JOBS, {
      what: `${JOBS} contacts`,
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    // A handful: enough failures to open the breaker, then one probe per open period.
    console.info(`CRM requests during the ${OUTAGE_MS / 1_000} s outage with the breaker: ${duringOutage}`);
    expect(duringOutage).toBeGreaterThan(0);
    expect(duringOutage).toBeLessThan(50);

    const records = (await stack.inspect('crm')).filter((record) => users.some((id) => record.key === syncCrmContact.jobId({ userId: id })));
    expect(records).toHaveLength(JOBS);
    expect(records.every((record) => record.deliveries === 1)).toBe(true);
    // Waiting behind an open breaker spends no attempts: no job came near its budget.
    const attempts = await Promise.all(
      users.slice(0, 50).map(async (userId) => (await stack.queues.crm.getJob(syncCrmContact.jobId({ userId })))?.attemptsMade ?? 0),
    );
    expect(Math.max(...attempts)).toBeLessThanOrEqual(3);
  }, OUTAGE_MS + 90_000);
});
