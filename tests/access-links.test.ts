// The links people hold, against the real database and queues: tokens kept only as hashes, status
// links that expire and can be mailed again, an email link that a GET cannot use and a POST uses
// once, and the growing waits and lifetime cap on asking for new links.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignup } from '@/app/_signup/create-signup';
import { deleteAccount } from '@/app/_signup/delete-account';
import { emailLinkState, useEmailLink } from '@/app/_signup/email-link';
import {
  LINK_REQUESTS_PER_ADDRESS_PER_HOUR,
  LINK_REQUESTS_PER_MINUTE,
  MAX_UNVERIFIED_LINK_REQUESTS,
  MAX_WAIT_SECONDS,
  RESEND_INTERVAL_SECONDS,
  resendVerification,
  type ResendOutcome,
} from '@/app/_signup/resend-verification';
import { signupStatus } from '@/app/_signup/signup-status';
import { GET as getEmailLink, POST as postEmailLink } from '@/app/verify/[token]/route';
import { newToken, tokenHash, type TokenPurpose } from '@/lib/access-tokens';
import { SharedBudgets } from '@/lib/rate-budgets';
import { query, sql } from '@/lib/sql';
import { createHandlerContext, type HandlerContext } from '@/workers/jobs/handler-context';
import { JOB_HANDLERS } from '@/workers/jobs/job-handlers';
import { sendVerificationEmail, sendWelcomeEmail } from '@/workers/jobs/job-contracts';
import { startTestStack, uniqueSignup, type TestStack } from '@/tests/helpers/test-stack';

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

const deps = () => ({ pool: stack.pool, queues: stack.queues });

async function newUser(): Promise<{ userId: string; email: string; statusToken: string }> {
  const signup = uniqueSignup();
  const outcome = await createSignup(signup, { ...deps(), followUpDelayMs: stack.config.followUpDelayMs });
  if (outcome.status !== 'created') throw new Error(`signup failed: ${outcome.status}`);
  return { userId: outcome.userId, email: signup.email, statusToken: outcome.statusToken };
}

/** An email link for the user, as the welcome email's handler mints one. */
async function emailLinkFor(userId: string): Promise<string> {
  const token = newToken();
  await query(stack.pool, sql`
    INSERT INTO access_tokens (token_hash, user_id, purpose, expires_at)
    VALUES (${tokenHash(token)}, ${userId}::uuid, 'verify', now() + interval '48 hours')`);
  return token;
}

async function expire(token: string): Promise<void> {
  await query(stack.pool, sql`UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = ${tokenHash(token)}`);
}

/** As if the last request was `seconds` ago. */
async function lastRequestAgo(userId: string, seconds: number): Promise<void> {
  await query(stack.pool, sql`
    UPDATE users SET verification_resent_at = now() - make_interval(secs => ${seconds}::float8) WHERE id = ${userId}::uuid`);
}

async function verify(userId: string): Promise<void> {
  await query(stack.pool, sql`UPDATE users SET email_verified_at = now() WHERE id = ${userId}::uuid`);
}

function sent(outcome: ResendOutcome) {
  if (outcome.status !== 'sent') throw new Error(`request was not accepted: ${outcome.status}`);
  return outcome;
}

async function payloadOf(jobId: string): Promise<unknown> {
  return (await stack.queues.email.getJob(jobId))?.data;
}

const routeParams = (token: string) => ({ params: Promise.resolve({ token }) });
const confirmForm = (token: string) =>
  new Request(`http://app.test/verify/${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'intent=confirm',
  });

describe('tokens at rest', () => {
  it('keeps only the hash of a status token: no table holds the token itself', async () => {
    const user = await newUser();
    const [link] = await query<{ hash: Buffer; purpose: TokenPurpose }>(stack.pool, sql`
      SELECT token_hash AS hash, purpose FROM access_tokens WHERE user_id = ${user.userId}::uuid`);
    expect(link?.purpose).toBe('status');
    expect(link?.hash.equals(tokenHash(user.statusToken))).toBe(true);

    const tables = await query<{ name: string }>(stack.pool, sql`
      SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`);
    expect(tables.map((table) => table.name)).toContain('users');
    for (const { name } of tables) {
      const [found] = await stack.db.$queryRawUnsafe<Array<{ count: bigint }>>(
        `SELECT count(*) AS count FROM "${name}" AS t WHERE t::text LIKE '%' || $1 || '%'`,
        user.statusToken,
      );
      expect(Number(found?.count), `${name} holds the token`).toBe(0);
    }
  });

  it('mints the welcome email\'s link in the worker and stores only its hash', async () => {
    const user = await newUser();
    const handler = JOB_HANDLERS.get(sendWelcomeEmail.name);
    await handler?.handle({ userId: user.userId }, ctx);
    const [mail] = (await stack.inspect('smtp')).filter((record) => (record.body as { to: string[] }).to.includes(user.email));
    const token = /\/verify\/([A-Za-z0-9_-]{43})/.exec((mail?.body as { text: string }).text)?.[1] ?? '';
    expect(await emailLinkState(stack.pool, token)).toMatchObject({ state: 'live', userId: user.userId, verified: false });
    const [plain] = await stack.db.$queryRawUnsafe<Array<{ count: bigint }>>(
      `SELECT count(*) AS count FROM access_tokens AS t WHERE t::text LIKE '%' || $1 || '%'`,
      token,
    );
    expect(Number(plain?.count)).toBe(0);
  });
});

describe('a status link', () => {
  it('opens the status page until it expires, then opens only the offer of a new link', async () => {
    const user = await newUser();
    expect((await signupStatus(user.statusToken, deps())).state).toBe('live');
    await expire(user.statusToken);
    expect(await signupStatus(user.statusToken, deps())).toEqual({ state: 'expired' });
  });

  it('can no longer delete the account once expired', async () => {
    const user = await newUser();
    await expire(user.statusToken);
    expect(await deleteAccount(user.statusToken, deps())).toEqual({ status: 'expired' });
    expect(await stack.db.user.count({ where: { id: user.userId } })).toBe(1);
  });

  it('once expired, asks for a new link to be mailed to the account, even when the address is confirmed', async () => {
    const user = await newUser();
    await verify(user.userId);
    // While live, a confirmed account has no verification to resend.
    expect((await resendVerification(user.statusToken, deps())).status).toBe('already-verified');
    await expire(user.statusToken);
    const outcome = sent(await resendVerification(user.statusToken, deps()));
    expect(await payloadOf(outcome.jobId)).toEqual({ userId: user.userId, requestId: outcome.requestId, reason: 'new-link' });
  });
});

describe('the email link', () => {
  it('changes nothing when opened with GET, as a mail scanner would', async () => {
    const user = await newUser();
    const token = await emailLinkFor(user.userId);
    const page = await getEmailLink(new Request(`http://app.test/verify/${token}`), routeParams(token));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post">');
    expect(await emailLinkState(stack.pool, token)).toMatchObject({ state: 'live', verified: false });
  });

  it('confirms the address with POST, consumes every email link of the account, and lands on a fresh status page', async () => {
    const user = await newUser();
    const token = await emailLinkFor(user.userId);
    const other = await emailLinkFor(user.userId);

    const response = await postEmailLink(confirmForm(token), routeParams(token));
    expect(response.status).toBe(303);
    const location = response.headers.get('location') ?? '';
    expect(location).toMatch(/^\/welcome\/[A-Za-z0-9_-]{43}\?verified=1$/);
    const landing = /^\/welcome\/([^?]+)/.exec(location)?.[1] ?? '';
    const status = await signupStatus(landing, deps());
    expect(status.state === 'live' && status.status.emailVerified).toBe(true);

    expect((await emailLinkState(stack.pool, token)).state).toBe('used');
    expect((await emailLinkState(stack.pool, other)).state).toBe('used');
    const again = await postEmailLink(confirmForm(token), routeParams(token));
    expect(again.status).toBe(410);
    expect(await again.text()).toContain('Email me a new link');
  });

  it('is used by exactly one of many presses at the same moment', async () => {
    const user = await newUser();
    const token = await emailLinkFor(user.userId);
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => useEmailLink(stack.pool, token)));
    expect(outcomes.filter((outcome) => outcome.status === 'used')).toHaveLength(1);
    const [statusLinks] = await query<{ count: number }>(stack.pool, sql`
      SELECT count(*)::int AS count FROM access_tokens WHERE user_id = ${user.userId}::uuid AND purpose = 'status'`);
    // The signup's own, and one from the press that got through.
    expect(statusLinks?.count).toBe(2);
  });

  it('does nothing once expired, and can ask for a new link', async () => {
    const user = await newUser();
    const token = await emailLinkFor(user.userId);
    await expire(token);
    expect(await useEmailLink(stack.pool, token)).toEqual({ status: 'refused', link: { state: 'expired', userId: user.userId } });
    expect(await stack.db.user.findUniqueOrThrow({ where: { id: user.userId } })).toMatchObject({ emailVerifiedAt: null });
    sent(await resendVerification(token, deps(), 'verify'));
  });

  it('answers 404 for a token never issued, and 400 for a POST that is not its form', async () => {
    const token = newToken();
    expect((await getEmailLink(new Request(`http://app.test/verify/${token}`), routeParams(token))).status).toBe(404);
    const odd = new Request(`http://app.test/verify/${token}`, { method: 'POST', body: 'intent=delete-everything' });
    expect((await postEmailLink(odd, routeParams(token))).status).toBe(400);
  });
});

describe('asking for new links', () => {
  it('makes each wait twice as long as the one before', async () => {
    const user = await newUser();
    const first = sent(await resendVerification(user.statusToken, deps()));
    expect(first.nextAllowedInSeconds).toBe(RESEND_INTERVAL_SECONDS);
    await lastRequestAgo(user.userId, RESEND_INTERVAL_SECONDS + 1);
    const second = sent(await resendVerification(user.statusToken, deps()));
    expect(second.nextAllowedInSeconds).toBe(2 * RESEND_INTERVAL_SECONDS);

    // A minute and a second later is no longer enough: the wait is now two minutes.
    await lastRequestAgo(user.userId, RESEND_INTERVAL_SECONDS + 1);
    const early = await resendVerification(user.statusToken, deps());
    expect(early).toMatchObject({ status: 'too-soon' });
    expect(early.status === 'too-soon' && early.retryAfterSeconds).toBeGreaterThanOrEqual(RESEND_INTERVAL_SECONDS - 2);
    await lastRequestAgo(user.userId, 2 * RESEND_INTERVAL_SECONDS + 1);
    sent(await resendVerification(user.statusToken, deps()));
  });

  it(`gives an unverified account ${MAX_UNVERIFIED_LINK_REQUESTS} links in its life, then refuses, however long it waits`, async () => {
    const user = await newUser();
    for (let press = 1; press <= MAX_UNVERIFIED_LINK_REQUESTS; press += 1) {
      const outcome = sent(await resendVerification(user.statusToken, deps()));
      expect(outcome.nextAllowedInSeconds === null).toBe(press === MAX_UNVERIFIED_LINK_REQUESTS);
      await lastRequestAgo(user.userId, MAX_WAIT_SECONDS + 1);
    }
    expect(await resendVerification(user.statusToken, deps())).toEqual({ status: 'limit-reached' });
    const [rows] = await query<{ count: number }>(stack.pool, sql`
      SELECT count(*)::int AS count FROM outbox_messages WHERE job_name = ${sendVerificationEmail.name} AND payload->>'userId' = ${user.userId}`);
    expect(rows?.count).toBe(MAX_UNVERIFIED_LINK_REQUESTS);
  });

  it('gives a confirmed account no cap, and never makes it wait more than a day', async () => {
    const user = await newUser();
    await verify(user.userId);
    await expire(user.statusToken);
    let last = sent(await resendVerification(user.statusToken, deps()));
    // Twelve waits double a minute past a day (60 s × 2¹¹).
    for (let press = 1; press < 12; press += 1) {
      await lastRequestAgo(user.userId, MAX_WAIT_SECONDS + 1);
      last = sent(await resendVerification(user.statusToken, deps()));
    }
    expect(last.nextAllowedInSeconds).toBe(MAX_WAIT_SECONDS);
  });

  it('starts the waits over once a link is used', async () => {
    const user = await newUser();
    sent(await resendVerification(user.statusToken, deps()));
    await lastRequestAgo(user.userId, RESEND_INTERVAL_SECONDS + 1);
    sent(await resendVerification(user.statusToken, deps()));
    const token = await emailLinkFor(user.userId);
    expect((await useEmailLink(stack.pool, token)).status).toBe('used');
    expect(await stack.db.user.findUniqueOrThrow({ where: { id: user.userId } })).toMatchObject({ linkRequests: 0 });
  });
});

describe('presses from one client, and from everyone', () => {
  /** Budgets on the real Valkey, under a prefix of this test's own. */
  const budgetsOfOwn = () => new SharedBudgets({ redis: stack.producer, keyPrefix: `test-${crypto.randomUUID()}`, deadlineMs: 2_000 });

  it(`stop one address pressing many throwaway accounts after ${LINK_REQUESTS_PER_ADDRESS_PER_HOUR}, and leave other addresses alone`, async () => {
    const budgets = budgetsOfOwn();
    const users = await Promise.all(Array.from({ length: LINK_REQUESTS_PER_ADDRESS_PER_HOUR + 1 }, () => newUser()));
    const outcomes = [];
    for (const user of users) outcomes.push(await resendVerification(user.statusToken, { ...deps(), asker: { budgets, client: '203.0.113.7' } }));
    expect(outcomes.slice(0, -1).every((outcome) => outcome.status === 'sent')).toBe(true);
    expect(outcomes.at(-1)).toMatchObject({ status: 'busy' });
    // The refused press wrote nothing for its account.
    const refused = users.at(-1) as (typeof users)[number];
    expect(await stack.db.user.findUniqueOrThrow({ where: { id: refused.userId } })).toMatchObject({ linkRequests: 0 });
    sent(await resendVerification(refused.statusToken, { ...deps(), asker: { budgets, client: '198.51.100.9' } }));
  });

  it(`stop everyone together after ${LINK_REQUESTS_PER_MINUTE} in a minute`, async () => {
    const budgets = budgetsOfOwn();
    const user = await newUser();
    // Everyone's budget spent by presses from other addresses: a minute's worth, and what refills
    // while they are made.
    const everyone = [{ key: 'everyone', limit: LINK_REQUESTS_PER_MINUTE, windowMs: 60_000 }];
    let spent = 0;
    while ((await budgets.take('link-request', everyone)).allowed) spent += 1;
    expect(spent).toBeGreaterThanOrEqual(LINK_REQUESTS_PER_MINUTE);
    expect(await resendVerification(user.statusToken, { ...deps(), asker: { budgets, client: '192.0.2.44' } })).toMatchObject({ status: 'busy' });
  });
});

describe('send-verification-email for a new link', () => {
  const handle = (payload: Record<string, unknown>) => JOB_HANDLERS.get(sendVerificationEmail.name)?.handle(payload, ctx);

  it('sends a confirmed account a link to its account page', async () => {
    const user = await newUser();
    await verify(user.userId);
    const requestId = crypto.randomUUID();
    expect(await handle({ userId: user.userId, requestId, reason: 'new-link' })).toMatchObject({ status: 'applied' });
    const [mail] = (await stack.inspect('smtp')).filter((record) => record.key.includes(requestId));
    expect((mail?.body as { subject: string }).subject).toBe('Your link to your account');
  });

  it('still skips a plain verification once the address is confirmed', async () => {
    const user = await newUser();
    await verify(user.userId);
    expect(await handle({ userId: user.userId, requestId: crypto.randomUUID() })).toEqual({
      status: 'skipped',
      reason: 'address already verified',
    });
  });
});
