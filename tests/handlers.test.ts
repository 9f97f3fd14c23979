// Each handler against the real mock providers and database: its effect applied once, however
// often the job runs, and its failures sorted by the provider error taxonomy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignup } from '@/app/_signup/create-signup';
import { createHandlerContext, type HandlerContext } from '@/workers/jobs/handler-context';
import { JOB_HANDLERS } from '@/workers/jobs/job-handlers';
import { generateAvatar, sendWelcomeEmail, SIGNUP_JOBS, syncCrmContact, trackSignupEvent } from '@/workers/jobs/job-contracts';
import { processJob } from '@/workers/runtime/process-job';
import { PermanentProviderError, RateLimitedProviderError, TransientProviderError } from '@/workers/providers/provider-errors';
import { startTestStack, uniqueSignup, type TestStack } from '@/tests/helpers/test-stack';
import { UnrecoverableError } from 'bullmq';

let stack: TestStack;
let ctx: HandlerContext;
/** Handlers alone: no queue to rate-limit, no breaker. */
const noControls = { rateLimit: async () => undefined };

beforeAll(async () => {
  stack = await startTestStack({ PROVIDER_TIMEOUT_MS: '500' });
  ctx = createHandlerContext(stack.config, stack.db);
});
afterAll(async () => {
  ctx.mailer.close();
  await stack.close();
});

async function newUser(): Promise<{ userId: string; email: string }> {
  const signup = uniqueSignup();
  const outcome = await createSignup(signup, { db: stack.db, queues: stack.queues, followUpDelayMs: stack.config.followUpDelayMs });
  if (outcome.status !== 'created') throw new Error(`signup failed: ${outcome.status}`);
  return { userId: outcome.userId, email: signup.email };
}

function run(name: string, userId: string) {
  const handler = JOB_HANDLERS.get(name);
  if (!handler) throw new Error(`no handler ${name}`);
  return handler.handle({ userId }, ctx);
}

const PROVIDER_OF: Record<string, string> = {
  [sendWelcomeEmail.name]: 'smtp',
  [syncCrmContact.name]: 'crm',
  [generateAvatar.name]: 'storage',
  [trackSignupEvent.name]: 'analytics',
};

async function effectRows(name: string, userId: string): Promise<number> {
  switch (name) {
    case sendWelcomeEmail.name:
      return stack.db.welcomeEmail.count({ where: { userId } });
    case syncCrmContact.name:
      return stack.db.crmContact.count({ where: { userId } });
    case generateAvatar.name:
      return stack.db.avatar.count({ where: { userId } });
    default:
      return stack.db.analyticsEvent.count({ where: { userId } });
  }
}

async function deliveriesFor(name: string, userId: string) {
  const records = await stack.inspect(PROVIDER_OF[name] as string);
  return records.filter((record) => record.key.includes(userId));
}

describe.each(SIGNUP_JOBS.map((contract) => contract.name))('%s', (name) => {
  describe('when the job runs twice', () => {
    it('applies the effect once and reaches the provider once', async () => {
      const { userId } = await newUser();
      expect(await run(name, userId)).toMatchObject({ status: 'applied' });
      expect(await run(name, userId)).toEqual({ status: 'already-done' });

      expect(await effectRows(name, userId)).toBe(1);
      const records = await deliveriesFor(name, userId);
      expect(records).toHaveLength(1);
      expect(records[0]?.deliveries).toBe(1);
    });
  });

  describe('when two runs race past the read-and-validate step', () => {
    it('records one effect, and the provider deduplicates the second send by its idempotency key', async () => {
      const { userId } = await newUser();
      const outcomes = await Promise.all([run(name, userId), run(name, userId)]);
      expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['already-done', 'applied']);
      expect(await effectRows(name, userId)).toBe(1);
      const records = await deliveriesFor(name, userId);
      // One idempotency key; the provider applied it once whether it saw one request or two.
      expect(records).toHaveLength(1);
    });
  });

  describe('when the provider is down', () => {
    it('throws a transient error and records nothing', async () => {
      const { userId } = await newUser();
      await stack.setFault(PROVIDER_OF[name] as string, { mode: 'down' });
      try {
        await expect(run(name, userId)).rejects.toBeInstanceOf(TransientProviderError);
      } finally {
        await stack.setFault(PROVIDER_OF[name] as string, { mode: 'up' });
      }
      expect(await effectRows(name, userId)).toBe(0);
    });
  });

  describe('when the provider rejects the request', () => {
    it('fails permanently, so the worker does not retry', async () => {
      const { userId } = await newUser();
      await stack.setFault(PROVIDER_OF[name] as string, { mode: 'reject' });
      try {
        await expect(run(name, userId)).rejects.toBeInstanceOf(PermanentProviderError);
        await expect(processJob({ name, data: { userId } }, ctx, noControls)).rejects.toBeInstanceOf(UnrecoverableError);
      } finally {
        await stack.setFault(PROVIDER_OF[name] as string, { mode: 'up' });
      }
      expect(await effectRows(name, userId)).toBe(0);
    });
  });

  describe('when the user was deleted before the job ran', () => {
    it('skips without calling the provider', async () => {
      const { userId } = await newUser();
      await stack.db.user.delete({ where: { id: userId } });
      expect(await run(name, userId)).toEqual({ status: 'skipped', reason: 'user deleted' });
      expect(await deliveriesFor(name, userId)).toHaveLength(0);
    });
  });
});

describe('HTTP provider calls', () => {
  it('turn a 429 into a rate-limited error carrying Retry-After', async () => {
    const { userId } = await newUser();
    await stack.setFault('crm', { mode: 'ratelimit', retryAfterSeconds: 7 });
    try {
      const error = await run(syncCrmContact.name, userId).catch((caught: unknown) => caught);
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
      const error = await run(trackSignupEvent.name, userId).catch((caught: unknown) => caught);
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
      const running = syncCrmContactWith(cancel.signal, userId);
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
    await run(sendWelcomeEmail.name, userId);
    const [record] = await deliveriesFor(sendWelcomeEmail.name, userId);
    const user = await stack.db.user.findUniqueOrThrow({ where: { id: userId } });
    const body = record?.body as { to: string[]; text: string };
    expect(body.to).toEqual([email]);
    expect(body.text).toContain(`http://app.test/verify/${user.verifyToken}`);
  });
});

describe('generate-avatar', () => {
  it('uploads a real PNG and stores the URL the provider returned', async () => {
    const { userId } = await newUser();
    await run(generateAvatar.name, userId);
    const avatar = await stack.db.avatar.findUniqueOrThrow({ where: { userId } });
    const image = await fetch(avatar.url);
    expect(image.headers.get('content-type')).toBe('image/png');
    const bytes = new Uint8Array(await image.arrayBuffer());
    expect([...bytes.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
});

function syncCrmContactWith(signal: AbortSignal, userId: string) {
  const handler = JOB_HANDLERS.get(syncCrmContact.name);
  if (!handler) throw new Error('no handler');
  return handler.handle({ userId }, { ...ctx, signal });
}
