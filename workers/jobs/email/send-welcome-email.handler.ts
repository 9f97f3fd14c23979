// send-welcome-email
// Enqueued by: every signup (through the outbox).
// Side effect: one welcome email over SMTP, with the link that verifies the address.
// Idempotency: welcome_emails.user_id is unique; the Message-ID is derived from the job, so an
//   SMTP server (and the mock) can recognise a resend after a crash between send and record.
// Retries: transient SMTP failures retry with exponential backoff (see the contract); a 5xx reply
//   is permanent.
import { emailLinkPath } from '@/lib/access-tokens';
import { sql } from '@/lib/sql';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { effectAndUser } from '@/workers/jobs/read-and-validate';
import { recordEffect } from '@/workers/jobs/record-effect';
import { sendWelcomeEmail, type SendWelcomeEmailPayload } from '@/workers/jobs/email/send-welcome-email.contract';
import { sendMail } from '@/workers/providers/mailer';
import { escapeHtml, nameForEmail, FROM } from '@/workers/jobs/email/recorded-email';

export function welcomeMessageId(userId: string): string {
  return `<send-welcome-email.${userId}@signup.example>`;
}

export async function sendWelcomeEmailHandler(payload: SendWelcomeEmailPayload, ctx: HandlerContext): Promise<HandlerOutcome> {
  const { userId } = payload;
  const { done, user } = await effectAndUser(ctx, sendWelcomeEmail, payload, userId, 'verify');
  if (done) return { status: 'already-done' };
  if (!user) return { status: 'skipped', reason: 'user deleted' };

  const messageId = welcomeMessageId(userId);
  const verifyUrl = `${ctx.appUrl}${emailLinkPath(user.token)}`;
  await sendMail(ctx.mailer, {
    from: FROM,
    to: user.email,
    messageId,
    subject: 'Welcome! Please confirm your email',
    text: `Hi ${nameForEmail(user.name)},\n\nThanks for signing up. Confirm your email address here:\n${verifyUrl}\n`,
    html: `<p>Hi ${escapeHtml(nameForEmail(user.name))},</p><p>Thanks for signing up. <a href="${verifyUrl}">Confirm your email address</a>.</p>`,
  }, ctx.signal);

  return recordEffect(
    ctx.pool,
    sql`INSERT INTO welcome_emails (user_id, message_id) VALUES (${userId}::uuid, ${messageId}) ON CONFLICT DO NOTHING`,
    { messageId },
  );
}
