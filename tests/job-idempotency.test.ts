// Every job against the real mock providers and database, one row per job (tests/helpers/
// job-cases.ts): its effect applied once however often the job runs, and its failures sorted by
// the provider error taxonomy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHash } from '@/lib/access-tokens';
import { createSignup } from '@/app/_signup/create-signup';
import { createHandlerContext, type HandlerContext } from '@/workers/jobs/handler-context';
import { JOB_HANDLERS } from '@/workers/jobs/job-handlers';
import { ALL_JOBS, generateAvatar, sendWelcomeEmail, syncCrmContact, trackSignupEvent } from '@/workers/jobs/job-contracts';
import { processJob } from '@/workers/runtime/process-job';
import { PermanentProviderError, RateLimitedProviderError, TransientProviderError } from '@/workers/providers/provider-errors';
import { effectRowCount, JOB_CASES } from '@/tests/helpers/job-cases';
import { startTestStack, uniqueSignup, type TestStack } from '@/tests/helpers/test-stack';
import { UnrecoverableError } from 'bullmq';

let stack: TestStack;
let ctx: HandlerContext;
/** Handlers alone: no queue to rate-limit, no breaker. */
const noControls = { rateLimit: async () => undefined };

beforeAll(async () => {
  stack = await startTestStack({ PROVIDER_TIMEOUT_MS: '500' });
  ctx = createHandlerContext(stack.config, stack.pool);
});
afterAll(async () => {
  ctx.mailer.close();
  await stack.close();
});

async function newUser(): Promise<{ userId: string; email: string }> {
  const signup = uniqueSignup();
  const outcome = await createSignup(signup, { pool: stack.pool, queues: stack.queues, followUpDelayMs: stack.config.followUpDelayMs });
  if (outcome.status !== 'created') throw new Error(`signup failed: ${outcome.status}`);
  return { userId: outcome.userId, email: signup.email };
}

function run(name: string, payload: Record<string, unknown>, signal?: AbortSignal) {
  const handler = JOB_HANDLERS.get(name);
  if (!handler) throw new Error(`no handler ${name}`);
  return handler.handle(payload, signal ? { ...ctx, signal } : ctx);
}

describe.each(ALL_JOBS.map((contract) => [contract.name, contract] as const))('%s', (name, contract) => {
  const job = JOB_CASES[name];
  if (!job) throw new Error(`${name} has no row in tests/helpers/job-cases.ts`);
  const effectRows = (payload: Record<string, unknown>) => effectRowCount(stack, contract, payload);
  const deliveriesFor = async (payload: Record<string, unknown>) =>
    (await stack.inspect(contract.provider)).filter((record) => record.key.includes(job.marker(payload)));
  const withFault = async (mode: string, check: () => Promise<void>) => {
    await stack.setFault(contract.provider, { mode });
    try {
      await check();
    } finally {
      await stack.setFault(contract.provider, { mode: 'up' });
    }
  };

  describe('when the job runs twice', () => {
    it('applies the effect once and reaches the provider once', async () => {
      const payload = await job.payload(stack);
      expect(await run(name, payload)).toMatchObject({ status: 'applied' });
      expect(await run(name, payload)).toEqual({ status: 'already-done' });

      expect(await effectRows(payload)).toBe(1);
      const records = await deliveriesFor(payload);
      expect(records).toHaveLength(1);
      expect(records[0]?.deliveries).toBe(1);
    });
  });

  describe('when two runs race past the read-and-validate step', () => {
    it('records one effect, and the provider deduplicates the second send by its idempotency key', async () => {
      const payload = await job.payload(stack);
      const outcomes = await Promise.all([run(name, payload), run(name, payload)]);
      expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['already-done', 'applied']);
      expect(await effectRows(payload)).toBe(1);
      // One idempotency key; the provider applied it once whether it saw one request or two.
      expect(await deliveriesFor(payload)).toHaveLength(1);
    });
  });

  describe('when the provider is down', () => {
    it('throws a transient error and records nothing', async () => {
      const payload = await job.payload(stack);
      await withFault('down', () => expect(run(name, payload)).rejects.toBeInstanceOf(TransientProviderError));
      expect(await effectRows(payload)).toBe(0);
    });
  });

  describe('when the provider rejects the request', () => {
    it('fails permanently, so the worker does not retry', async () => {
      const payload = await job.payload(stack);
      await withFault('reject', async () => {
        await expect(run(name, payload)).rejects.toBeInstanceOf(PermanentProviderError);
        await expect(processJob({ name, data: payload }, ctx, noControls)).rejects.toBeInstanceOf(UnrecoverableError);
      });
      expect(await effectRows(payload)).toBe(0);
    });
  });

  describe('when what the job is for is gone before it runs', () => {
    it('skips without creating anything at the provider', async () => {
      const payload = await job.payload(stack);
      const reason = await job.withdraw(stack, payload);
      expect(await run(name, payload)).toEqual({ status: 'skipped', reason });
      // A job that creates at an HTTP provider sends a delete instead, for whatever an earlier
      // attempt's lost answer may have left there (docs/failure-model.md#erasure); nothing else.
      expect((await deliveriesFor(payload)).filter((record) => !record.key.startsWith('DELETE '))).toHaveLength(0);
    });
  });
});

describe('HTTP provider calls', () => {
  it('turn a 429 into a rate-limited error carrying Retry-After', async () => {
    const { userId } = await newUser();
    await stack.setFault('crm', { mode: 'ratelimit', retryAfterSeconds: 7 });
    try {
      const error = await run(syncCrmContact.name, { userId }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RateLimitedProviderError);
      expect((error as RateLimitedProviderError).retryAfterMs).toBe(7_000);
    } finally {
      await stack.setFault('crm', { mode: 'up' });
    }
  });

  it('give up on a provider that hangs after the timeout, as a transient error', async () => {
    const { userId } = await newUser();
    await stack.setFault('analytics', { mode: 'hang' });
    try {
      const error = await run(trackSignupEvent.name, { userId }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TransientProviderError);
      expect((error as Error).message).toMatch(/no answer within 500 ms/);
    } finally {
      await stack.setFault('analytics', { mode: 'up' });
    }
  });

  it('stop when the job is cancelled', async () => {
    const { userId } = await newUser();
    await stack.setFault('crm', { mode: 'hang' });
    const cancel = new AbortController();
    try {
      const running = run(syncCrmContact.name, { userId }, cancel.signal);
      cancel.abort();
      const error = await running.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TransientProviderError);
      expect((error as Error).message).toMatch(/cancelled/);
    } finally {
      await stack.setFault('crm', { mode: 'up' });
    }
  });
});

describe('processJob', () => {
  it('fails permanently on a payload that does not match the contract', async () => {
    await expect(processJob({ name: sendWelcomeEmail.name, data: { userId: 'not-a-uuid' } }, ctx, noControls)).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
  });

  it('fails permanently on a job name no handler knows', async () => {
    await expect(processJob({ name: 'mine-bitcoin', data: {} }, ctx, noControls)).rejects.toThrow(/no handler/);
  });
});

describe('send-welcome-email', () => {
  it('sends the verification link and no other personal data than the recipient needs', async () => {
    const { userId, email } = await newUser();
    await run(sendWelcomeEmail.name, { userId });
    const [record] = (await stack.inspect('smtp')).filter((entry) => entry.key.includes(userId));
    const body = record?.body as { to: string[]; text: string };
    expect(body.to).toEqual([email]);
    // The link's token is the only thing in the email that opens anything, and the database keeps
    // only its hash, unused, for 48 hours.
    const token = /http:\/\/app\.test\/verify\/([A-Za-z0-9_-]{43})\n/.exec(body.text)?.[1] ?? '';
    const link = await stack.db.accessToken.findUniqueOrThrow({ where: { tokenHash: Uint8Array.from(tokenHash(token)) } });
    expect(link).toMatchObject({ userId, purpose: 'verify', consumedAt: null });
    const hours = (link.expiresAt.getTime() - link.createdAt.getTime()) / 3_600_000;
    expect(hours).toBeCloseTo(48, 1);
  });
});

describe('generate-avatar', () => {
  it('uploads a real PNG and stores the URL the provider returned', async () => {
    const { userId } = await newUser();
    await run(generateAvatar.name, { userId });
    const avatar = await stack.db.avatar.findUniqueOrThrow({ where: { userId } });
    const image = await fetch(avatar.url);
    expect(image.headers.get('content-type')).toBe('image/png');
    const bytes = new Uint8Array(await image.arrayBuffer());
    expect([...bytes.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
});
