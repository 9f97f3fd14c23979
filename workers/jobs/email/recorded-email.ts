// The shape every email job but the welcome email shares: one email per job, recorded in
// sent_emails under the job's id. The handler has read and validated (already sent? still
// wanted?); this sends with a Message-ID derived from the job id, so an SMTP server recognises a
// resend after a crash between send and record, then records the effect under its unique key.
import type { SendMailOptions } from 'nodemailer';
import { sql } from '@/lib/sql';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { recordEffect } from '@/workers/jobs/record-effect';
import { sendMail } from '@/workers/providers/mailer';

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

/**
 * A person's name as an email may greet them: on one line, and with nothing a mail client would
 * turn into a link. Anyone can sign up with any name, and the email goes out from our domain, so
 * "Hi http://evil.example/login" would be a phishing link that we sent. Mail clients link schemes,
 * `www.` and dotted host names in plain text (and many do in HTML too), so those are defanged the
 * way security reports write them: `http[:]//evil[.]example`. A dot followed by a space, as in
 * "J. R. R.", is left alone. Control and format characters (the signup refuses them already; this
 * holds for any row) become spaces, so a name never adds a line or a header. The HTML part
 * escapes the result as well.
 */
export function nameForEmail(name: string): string {
  return name
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replaceAll('://', '[:]//')
    .replace(/\.(?=[\p{L}\p{N}])/gu, '[.]');
}
