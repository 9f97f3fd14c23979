// The round-trip budget of the two hot paths: what one signup sends to PostgreSQL and Valkey, and
// what one job of each kind sends to PostgreSQL, Valkey and its provider. Counted, not timed, so the
// numbers are the same on every run; a change that adds a statement or a command to a hot path fails
// here and has to say why in this file. docs/benchmarks.md has the same table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '@/app/_signup/rate-limiter';
import { handleSignupRequest } from '@/app/_signup/signup-request';
import { CircuitBreaker } from '@/lib/circuit-breaker';
import { createHandlerContext, type HandlerContext } from '@/workers/jobs/handler-context';
import { ALL_JOBS } from '@/workers/jobs/job-contracts';
import { processJob } from '@/workers/runtime/process-job';
import { JOB_CASES } from '@/tests/helpers/job-cases';
import { countRoundTrips } from '@/tests/helpers/round-trips';
import { quietLog, startTestStack, uniqueSignup, type TestStack } from '@/tests/helpers/test-stack';

/** The budget: at most this many per signup, and per job of each kind. */
// BEGIN, the user, its outbox rows, COMMIT, and the rows marked dispatched; one add per queue.
const SIGNUP_BUDGET = { sql: 5, valkey: 4 };
// Read and validate (is the effect there?), read what the call needs, record the effect; the
// breaker asked before the call and told after it. An invitation also checks the address has no
// account yet.
const JOB_BUDGET: Record<string, { sql: number; valkey: number }> = {
  'send-welcome-email': { sql: 3, valkey: 2 },
  'sync-crm-contact': { sql: 3, valkey: 2 },
  'generate-avatar': { sql: 3, valkey: 2 },
  'track-signup-event': { sql: 3, valkey: 2 },
  'send-getting-started-email': { sql: 3, valkey: 2 },
  'send-verification-email': { sql: 3, valkey: 2 },
  'send-invite-email': { sql: 4, valkey: 2 },
};

let stack: TestStack;
let ctx: HandlerContext;

beforeAll(async () => {
  stack = await startTestStack();
  ctx = createHandlerContext(stack.config, stack.db);
});
afterAll(async () => {
  ctx.mailer.close();
  await stack.close();
});

function signupRequest() {
  return new Request('http://app.test/api/signups', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(uniqueSignup()),
  });
}

const signupDeps = () => ({
  db: stack.db,
  queues: stack.queues,
  limiter: new RateLimiter(0),
  log: quietLog,
  followUpDelayMs: stack.config.followUpDelayMs,
});

describe('one signup (POST /api/signups)', () => {
  it(`sends at most ${SIGNUP_BUDGET.sql} SQL statements and ${SIGNUP_BUDGET.valkey} Valkey commands`, async () => {
    // The first signup of a process loads BullMQ's scripts and opens connections: not the steady cost.
    expect((await handleSignupRequest(signupRequest(), signupDeps())).status).toBe(201);
    const { result, trips } = await countRoundTrips(() => handleSignupRequest(signupRequest(), signupDeps()));
    expect(result.status).toBe(201);
    expect(trips.sql, trips.log.join('\n')).toBeLessThanOrEqual(SIGNUP_BUDGET.sql);
    expect(trips.valkey, trips.log.join('\n')).toBeLessThanOrEqual(SIGNUP_BUDGET.valkey);
  });
});

describe.each(ALL_JOBS.map((contract) => [contract.name, contract] as const))('one %s job', (name, contract) => {
  const job = JOB_CASES[name];
  const budget = JOB_BUDGET[name];
  if (!job || !budget) throw new Error(`${name} has no round-trip budget or no row in tests/helpers/job-cases.ts`);

  it(`sends at most ${budget.sql} SQL statements and ${budget.valkey} Valkey commands, and calls its provider once`, async () => {
    const breaker = new CircuitBreaker({ redis: stack.producer, provider: contract.provider, keyPrefix: stack.config.queuePrefix });
    const controls = { rateLimit: async () => undefined, breaker };
    const run = (payload: Record<string, unknown>) => processJob({ name, data: payload }, ctx, controls);
    await run(await job.payload(stack));

    const payload = await job.payload(stack);
    const calls = async () => (await stack.inspect(contract.provider)).reduce((sum, entry) => sum + entry.deliveries + entry.failures, 0);
    const callsBefore = await calls();
    const { result, trips } = await countRoundTrips(() => run(payload));
    expect(result.status).toBe('applied');
    expect(await calls()).toBe(callsBefore + 1);
    expect(trips.sql, trips.log.join('\n')).toBeLessThanOrEqual(budget.sql);
    expect(trips.valkey, trips.log.join('\n')).toBeLessThanOrEqual(budget.valkey);
  });
});
