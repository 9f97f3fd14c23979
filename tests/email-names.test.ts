// A signup's name lands in the emails it is sent: a name chosen by an attacker must not become a
// link or markup in mail that goes out from our domain. Real SMTP to the mock SMTP server, which
// keeps what it received.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignup } from '@/app/_signup/create-signup';
import { createHandlerContext, type HandlerContext } from '@/workers/jobs/handler-context';
import { processJob } from '@/workers/runtime/process-job';
import { quietLog, startTestStack, uniqueSignup, type TestStack } from '@/tests/helpers/test-stack';
import { providerBreaker } from '@/workers/resilience/provider-breaker';

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

interface ReceivedMail {
  key: string;
  body: { to: string[]; text: string; html?: string };
}

async function welcomeEmailFor(name: string): Promise<ReceivedMail['body']> {
  const outcome = await createSignup(uniqueSignup({ name }), {
    pool: stack.pool,
    queues: stack.queues,
    followUpDelayMs: stack.config.followUpDelayMs,
  });
  if (outcome.status !== 'created') throw new Error(`signup failed: ${outcome.status}`);
  const breaker = providerBreaker('email', stack.config, stack.producer, quietLog);
  try {
    const result = await processJob(
      { name: 'send-welcome-email', data: { userId: outcome.userId } },
      ctx,
      { rateLimit: async () => undefined, breaker },
    );
    expect(result.status).toBe('applied');
  } finally {
    await breaker.close();
  }
  const received = (await stack.inspect('smtp')) as unknown as ReceivedMail[];
  const mail = received.find((entry) => entry.key.includes(outcome.userId));
  if (!mail) throw new Error(`no welcome email for ${outcome.userId} at the mock SMTP server`);
  return mail.body;
}

describe('a name in the welcome email', () => {
  it('carries no link an attacker wrote, in the text part or the HTML part', async () => {
    const mail = await welcomeEmailFor('Hi http://evil.example/login');
    expect(mail.text).toContain('Hi Hi http[:]//evil[.]example/login,');
    for (const part of [mail.text, mail.html ?? '']) {
      expect(part).not.toContain('http://evil');
      expect(part).not.toContain('evil.example');
    }
    // The real link, the one we put there, is still a link.
    expect(mail.text).toMatch(/http:\/\/app\.test\/verify\/\S+/);
  });

  it('is escaped in the HTML part', async () => {
    const mail = await welcomeEmailFor('<img src=x onerror=alert(1)> & co');
    expect(mail.html).toContain('&#60;img src=x onerror=alert(1)&#62; &#38; co');
    expect(mail.html).not.toContain('<img');
  });
});
