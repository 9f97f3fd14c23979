// The round-trip budget of the two hot paths: what one signup sends to PostgreSQL and Valkey, and
// what one job of each kind sends to PostgreSQL, Valkey and its provider. Counted, not timed, so the
// numbers are the same on every run; a change that adds a statement or a command to a hot path fails
// here and has to say why in this file. docs/benchmarks.md has the same table.
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '@/app/_signup/rate-limiter';
import { DispatchMarks } from '@/lib/outbox';
import { SharedBudgets } from '@/lib/rate-budgets';
import { handleSignupRequest } from '@/app/_signup/signup-request';
import { createHandlerContext, type HandlerContext } from '@/workers/jobs/handler-context';
import { ALL_JOBS } from '@/workers/jobs/job-contracts';
import { providerBreaker } from '@/workers/resilience/provider-breaker';
import { processJob } from '@/workers/runtime/process-job';
import { JOB_CASES } from '@/tests/helpers/job-cases';
import { countRoundTrips, type RoundTrips } from '@/tests/helpers/round-trips';
import { quietLog, startTestStack, uniqueSignup, type TestStack } from '@/tests/helpers/test-stack';

/** The budget: at most this many per signup, and per job of each kind. */
type Budget = { sql: { statements: number; roundTrips: number }; valkey: { commands: number; roundTrips: number } };

// PostgreSQL: BEGIN, the statement timeout, one INSERT for the user and its outbox rows, COMMIT, all
// in one round trip. Valkey: the rate limits' one EVALSHA, which must answer before the body is read
// (every web replica spends from the same budgets: lib/rate-budgets.ts), then one add per queue,
// written together. The rows' dispatched mark is written behind the answer, with other signups'
// marks (lib/outbox.ts, DispatchMarks): below.
const SIGNUP_BUDGET: Budget = { sql: { statements: 4, roundTrips: 1 }, valkey: { commands: 5, roundTrips: 2 } };
/** Signups whose marks are gathered, and the statements that write all of them. */
const MARKED_TOGETHER = { signups: 10, statements: 1 };
// PostgreSQL: read and validate (is the effect there, and what the call needs) in one statement,
// and the effect recorded in another. Valkey: nothing while the breaker is closed; this process's
// view of it answers from memory and reports its successes a few times a second, not per job
// (workers/resilience/batched-breaker.ts).
const JOB: Budget = { sql: { statements: 2, roundTrips: 2 }, valkey: { commands: 0, roundTrips: 0 } };
const JOB_BUDGET: Record<string, Budget> = {
  'send-welcome-email': JOB,
  'sync-crm-contact': JOB,
  'generate-avatar': JOB,
  'track-signup-event': JOB,
  'send-getting-started-email': JOB,
  'send-verification-email': JOB,
  'send-invite-email': JOB,
  'erase-crm-contact': JOB,
  'erase-analytics-events': JOB,
  'erase-avatar': JOB,
};

function expectWithin(trips: RoundTrips, budget: Budget) {
  const why = trips.log.join('\n');
  expect(trips.sql.statements, why).toBeLessThanOrEqual(budget.sql.statements);
  expect(trips.sql.roundTrips, why).toBeLessThanOrEqual(budget.sql.roundTrips);
  expect(trips.valkey.commands, why).toBeLessThanOrEqual(budget.valkey.commands);
  expect(trips.valkey.roundTrips, why).toBeLessThanOrEqual(budget.valkey.roundTrips);
}

let stack: TestStack;
let ctx: HandlerContext;

beforeAll(async () => {
  stack = await startTestStack();
  ctx = createHandlerContext(stack.config, stack.pool);
});
afterAll(async () => {
  ctx.mailer.close();
  await stack.close();
});

function signupRequest() {
  return new Request('http://app.test/api/signups', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7' },
    body: JSON.stringify(uniqueSignup()),
  });
}

// Written only when a test flushes them.
const marks = () => new DispatchMarks(stack.pool, 3_600_000);
const signupDeps = (dispatchMarks = marks()) => ({
  pool: stack.pool,
  queues: stack.queues,
  // The production limits, so that their cost is counted; the address and everyone's budget have
  // room for every signup of this file.
  limiter: new RateLimiter(30, {
    globalPerMinute: 2_400,
    budgets: new SharedBudgets({ redis: stack.producer, keyPrefix: stack.config.queuePrefix }),
  }),
  log: quietLog,
  followUpDelayMs: stack.config.followUpDelayMs,
  marks: dispatchMarks,
});

describe('one signup (POST /api/signups)', () => {
  it('stays within its budget of statements, commands and round trips', async () => {
    // The first signup of a process loads BullMQ's scripts and opens connections: not the steady cost.
    expect((await handleSignupRequest(signupRequest(), signupDeps())).status).toBe(201);
    const { result, trips } = await countRoundTrips(() => handleSignupRequest(signupRequest(), signupDeps()));
    expect(result.status).toBe(201);
    // A Valkey Cluster client writes the four queues' adds to each node that holds one, on that
    // node's connection, all at once: one round trip per node, side by side, where a single server
    // takes one.
    const nodes = stack.producer instanceof Cluster ? stack.producer.nodes('master').length : 1;
    expectWithin(trips, { ...SIGNUP_BUDGET, valkey: { ...SIGNUP_BUDGET.valkey, roundTrips: SIGNUP_BUDGET.valkey.roundTrips + nodes - 1 } });
  });

  it("has its dispatched mark written together with other signups' marks", async () => {
    const together = marks();
    const answers = await Promise.all(
      Array.from({ length: MARKED_TOGETHER.signups }, () => handleSignupRequest(signupRequest(), signupDeps(together))),
    );
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 201));
    const { trips } = await countRoundTrips(() => together.flush());
    expect(trips.sql.statements, trips.log.join('\n')).toBe(MARKED_TOGETHER.statements);
  });
});

describe.each(ALL_JOBS.map((contract) => [contract.name, contract] as const))('one %s job', (name, contract) => {
  const job = JOB_CASES[name];
  const budget = JOB_BUDGET[name];
  if (!job || !budget) throw new Error(`${name} has no round-trip budget or no row in tests/helpers/job-cases.ts`);

  it('stays within its budget of statements, commands and round trips, and calls its provider once', async () => {
    const breaker = providerBreaker(contract.queue, stack.config, stack.producer, quietLog);
    const controls = { rateLimit: async () => undefined, breaker };
    const run = (payload: Record<string, unknown>) => processJob({ name, data: payload }, ctx, controls);
    await run(await job.payload(stack));

    const payload = await job.payload(stack);
    const calls = async () => (await stack.inspect(contract.provider)).reduce((sum, entry) => sum + entry.deliveries + entry.failures, 0);
    const callsBefore = await calls();
    // The steady state of a busy worker: the breaker's report of earlier calls already sent, and its
    // state known fresh. On a loaded machine the warm-up above can be over a second ago, or its
    // report still due: either would land inside the count.
    await breaker.report();
    await breaker.acquire();
    const { result, trips } = await countRoundTrips(() => run(payload));
    await breaker.close();
    expect(result.status).toBe('applied');
    expect(await calls()).toBe(callsBefore + 1);
    expectWithin(trips, budget);
  });
});
