// The shape every email job but the welcome email shares: one email per job, recorded in
// sent_emails under the job's id. The handler has read and validated (already sent? still
// wanted?); this sends with a Message-ID derived from the job id, so an SMTP server recognises a
// resend after a crash between send and record, then records the effect under its unique key.
import type { SendMailOptions } from 'nodemailer';
import { sql } from '@/lib/sql';
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
  message: Pick<SendMailOptions, 'to' | 'subject' | 'text' | 'html'>;
}

export async function sendRecordedEmail(ctx: HandlerContext, email: RecordedEmail): Promise<HandlerOutcome> {
  const messageId = messageIdFor(email.jobId);
  await sendMail(ctx.mailer, { from: FROM, messageId, ...email.message }, ctx.signal);
  return recordEffect(
    ctx.pool,
    sql`
      INSERT INTO sent_emails (job_id, kind, message_id, user_id, invitation_id)
      VALUES (${email.jobId}, ${email.kind}, ${messageId}, ${email.userId ?? null}::uuid, ${email.invitationId ?? null}::uuid)
      ON CONFLICT DO NOTHING`,
    { messageId },
  );
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
