// send-getting-started-email
// Enqueued by: every signup (through the outbox), delayed until FOLLOW_UP_DELAY_MS after the
//   signup (outbox_messages.available_at; it waits in PostgreSQL until it is due within a minute,
//   lib/outbox.ts); cancelled when the account is deleted.
// Side effect: one "getting started" email.
// Idempotency: sent_emails.job_id is unique; the Message-ID is derived from the job id.
// Retries: the email queue's policy; a 5xx SMTP reply is permanent. A deleted account is skipped,
//   which also covers a deletion that raced the job's removal.
import { statusPath } from '@/lib/access-tokens';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { effectAndUser } from '@/workers/jobs/read-and-validate';
import { escapeHtml, nameForEmail, sendRecordedEmail } from '@/workers/jobs/email/recorded-email';
import {
  sendGettingStartedEmail,
  type SendGettingStartedEmailPayload,
} from '@/workers/jobs/email/send-getting-started-email.contract';

export async function sendGettingStartedEmailHandler(
  payload: SendGettingStartedEmailPayload,
  ctx: HandlerContext,
): Promise<HandlerOutcome> {
  const { userId } = payload;
  const { done, user } = await effectAndUser(ctx, sendGettingStartedEmail, payload, userId, 'status');
  if (done) return { status: 'already-done' };
  if (!user) return { status: 'skipped', reason: 'user deleted' };

  // A status link of its own: the one the signup answered with may have expired by now.
  const home = `${ctx.appUrl}${statusPath(user.token)}`;
  return sendRecordedEmail(ctx, {
    jobId: sendGettingStartedEmail.jobId(payload),
    kind: 'getting-started',
    userId,
    message: {
      to: user.email,
      subject: 'Getting started',
      text: `Hi ${nameForEmail(user.name)},\n\nA few days in: here is where to find your account and what happened to your signup:\n${home}\n`,
      html: `<p>Hi ${escapeHtml(nameForEmail(user.name))},</p><p>A few days in: <a href="${home}">here is your account</a> and what happened to your signup.</p>`,
    },
  });
}
