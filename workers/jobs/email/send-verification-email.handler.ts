// send-verification-email
// Enqueued by: the "resend verification email" button on the status page (through the outbox),
//   at most once a minute per user; the email queue's second priority, right behind welcome
//   emails (email-priorities.ts).
// Side effect: one email with the link that verifies the address.
// Idempotency: one job per press (its requestId); sent_emails.job_id is unique; the Message-ID is
//   derived from the job id.
// Retries: the email queue's policy; a 5xx SMTP reply is permanent. Skipped once the address is
//   verified or the account deleted.
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
  const { done, user } = await effectAndUser(ctx, sendVerificationEmail, payload, userId);
  if (done) return { status: 'already-done' };
  if (!user) return { status: 'skipped', reason: 'user deleted' };
  if (user.emailVerified) return { status: 'skipped', reason: 'address already verified' };

  const verifyUrl = `${ctx.appUrl}/verify/${user.verifyToken}`;
  return sendRecordedEmail(ctx, {
    jobId: sendVerificationEmail.jobId(payload),
    kind: 'verification-resend',
    userId,
    message: {
      to: user.email,
      subject: 'Confirm your email',
      text: `Hi ${nameForEmail(user.name)},\n\nHere is the link to confirm your email address, as you asked:\n${verifyUrl}\n`,
      html: `<p>Hi ${escapeHtml(nameForEmail(user.name))},</p><p>Here is the link to <a href="${verifyUrl}">confirm your email address</a>, as you asked.</p>`,
    },
  });
}
