// Anyone can sign up throwaway accounts and press "resend verification" on each: a flood of
// resends must not stand in front of a real person's welcome email. Real queues on the real
// Valkey: the flood and the welcome are added while the email queue is paused, then one worker at
// concurrency 1 takes them in the order the queue hands them out.
import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignup } from '@/app/_signup/create-signup';
import { jobOptions, sendVerificationEmail, sendWelcomeEmail } from '@/workers/jobs/job-contracts';
import { startTestStack, uniqueSignup, waitFor, type TestStack } from '@/tests/helpers/test-stack';

const FLOOD = 500;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.close());

describe('a flood of verification resends', () => {
  it("leaves a new signup's welcome email first in the email queue", async () => {
    const email = stack.queues.email;
    await email.pause();
    await email.addBulk(
      Array.from({ length: FLOOD }, () => {
        const payload = { userId: randomUUID(), requestId: randomUUID() };
        return { name: sendVerificationEmail.name, data: payload, opts: { ...jobOptions(sendVerificationEmail.name), jobId: sendVerificationEmail.jobId(payload) } };
      }),
    );
    const signup = await createSignup(uniqueSignup(), { pool: stack.pool, queues: stack.queues, followUpDelayMs: stack.config.followUpDelayMs });
    if (signup.status !== 'created' || !signup.dispatched) throw new Error(`signup not dispatched: ${signup.status}`);

    const order: string[] = [];
    const worker = new Worker(
      email.name,
      async (job) => {
        order.push(job.name);
      },
      // The queue's own prefix: each queue has a hash tag of its own (lib/queues.ts).
      { connection: stack.workerConnection(), prefix: email.opts.prefix, concurrency: 1 },
    );
    try {
      await email.resume();
      await waitFor(async () => order.includes(sendWelcomeEmail.name), { what: 'the welcome email', timeoutMs: 20_000 });
    } finally {
      await worker.close();
    }
    expect(order.indexOf(sendWelcomeEmail.name)).toBe(0);
    expect(order.length).toBeLessThan(FLOOD);
  });
});
