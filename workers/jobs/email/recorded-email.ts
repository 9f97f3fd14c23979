// The shape every email job but the welcome email shares: one email per job, recorded in
// sent_emails under the job's id. Read-and-validate first (already sent? still wanted?), then send
// with a Message-ID derived from the job id, so an SMTP server recognises a resend after a crash
// between send and record, then record the effect under its unique key.
import type { SendMailOptions } from 'nodemailer';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { recordEffect } from '@/workers/jobs/record-effect';
import { sendMail } from '@/workers/providers/smtp-mailer';

export const FROM = 'Signup Demo <hello@signup.example>';

export function messageIdFor(jobId: string): string {
  return `<${jobId}@signup.example>`;
}

export interface RecordedEmail {
  jobId: string;
  kind: 'invitation' | 'verification-resend' | 'getting-started';
  userId?: string;
  invitationId?: string;
  /**
   * Reads what the email needs and decides whether it is still wanted: the message to send, or
   * why not (the user deleted their account, the address is already verified).
   */
  compose(): Promise<Pick<SendMailOptions, 'to' | 'subject' | 'text' | 'html'> | { skip: string }>;
}

export async function sendRecordedEmail(ctx: HandlerContext, email: RecordedEmail): Promise<HandlerOutcome> {
  if (await ctx.db.sentEmail.findUnique({ where: { jobId: email.jobId }, select: { id: true } })) {
    return { status: 'already-done' };
  }
  const message = await email.compose();
  if ('skip' in message) return { status: 'skipped', reason: message.skip };

  const messageId = messageIdFor(email.jobId);
  await sendMail(ctx.mailer, { from: FROM, messageId, ...message }, ctx.signal);
  return recordEffect(
    () =>
      ctx.db.sentEmail.create({
        data: {
          jobId: email.jobId,
          kind: email.kind,
          messageId,
          userId: email.userId ?? null,
          invitationId: email.invitationId ?? null,
        },
      }),
    { messageId },
  );
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
