// send-verification-email
// Enqueued by: the "resend verification email" button on the status page, and "email me a new
//   link" on a page whose link expired or was used (through the outbox), with waits that grow
//   per user (app/_signup/resend-verification.ts); the email queue's second priority, right
//   behind welcome emails (email-priorities.ts).
// Side effect: one email with a fresh email link (minted here, lib/access-tokens.ts), which
//   confirms the address and opens the account page.
// Idempotency: one job per press (its requestId), and presses made while one still waits collapse
//   into it (the contract's deduplication); sent_emails.job_id is unique; the Message-ID is
//   derived from the job id.
// Retries: the email queue's policy; a 5xx SMTP reply is permanent. Skipped once the account is
//   deleted, and a verification (not a new link) once the address is verified.
import { emailLinkPath } from '@/lib/access-tokens';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { effectAndUser } from '@/workers/jobs/read-and-validate';
import { escapeHtml, nameForEmail, sendRecordedEmail } from '@/workers/jobs/email/recorded-email';
import {
  sendVerificationEmail,
  type SendVerificationEmailPayload,
} from '@/workers/jobs/email/send-verification-email.contract';

export async function sendVerificationEmailHandler(
  payload: SendVerificationEmailPayload,
  ctx: HandlerContext,
): Promise<HandlerOutcome> {
  const { userId } = payload;
  const { done, user } = await effectAndUser(ctx, sendVerificationEmail, payload, userId, 'verify');
  if (done) return { status: 'already-done' };
  if (!user) return { status: 'skipped', reason: 'user deleted' };
  const newLink = payload.reason === 'new-link';
  if (user.emailVerified && !newLink) return { status: 'skipped', reason: 'address already verified' };

  const link = `${ctx.appUrl}${emailLinkPath(user.token)}`;
  const name = nameForEmail(user.name);
  const message = user.emailVerified
    ? {
        subject: 'Your link to your account',
        text: `Hi ${name},\n\nHere is a new link to your account page, as you asked:\n${link}\n`,
        html: `<p>Hi ${escapeHtml(name)},</p><p>Here is <a href="${link}">a new link to your account page</a>, as you asked.</p>`,
      }
    : {
        subject: 'Confirm your email',
        text: `Hi ${name},\n\nHere is the link to confirm your email address, as you asked:\n${link}\n`,
        html: `<p>Hi ${escapeHtml(name)},</p><p>Here is the link to <a href="${link}">confirm your email address</a>, as you asked.</p>`,
      };
  return sendRecordedEmail(ctx, {
    jobId: sendVerificationEmail.jobId(payload),
    kind: 'verification-resend',
    userId,
    message: { to: user.email, ...message },
  });
}
