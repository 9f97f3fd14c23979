import { z } from 'zod';
import { sql } from '@/lib/sql';
import { defineJob } from '@/workers/jobs/define-job';
import { EMAIL_PRIORITY } from '@/workers/jobs/email/email-priorities';

export const sendVerificationEmail = defineJob({
  queue: 'email',
  name: 'send-verification-email',
  // requestId: one per press of "resend", so each press sends one email however often its job runs.
  // reason: 'new-link' when it was asked for from a link that has expired or was used
  // (app/_signup/resend-verification.ts); it is sent even once the address is confirmed, as the
  // way back to the account page. Absent in jobs queued before it existed: a verification.
  payload: z.object({ userId: z.uuid(), requestId: z.uuid(), reason: z.enum(['verify', 'new-link']).optional() }),
  timeoutMs: 30_000,
  jobId: ({ requestId }) => `send-verification-email-${requestId}`,
  effect: { table: 'sent_emails', column: 'job_id', key: { from: 'job-id' } },
  // The handler mints the link when it sends, so an email still waiting in the queue (SMTP down,
  // a backlog) serves every later press of its user: those add nothing. A press while it is being
  // sent, its link minted already, is kept and sent after it. The key lives exactly as long as the
  // job, so no ttl (docs/backpressure.md#job-ids-or-deduplication).
  deduplication: {
    options: ({ userId, reason }) => ({ id: `send-verification-email-${userId}-${reason ?? 'verify'}`, keepLastIfActive: true }),
    // A press is served by any link email to its user sent after it; either kind opens the account.
    servedSql: ({ userId, since }) => sql`EXISTS (
      SELECT 1 FROM sent_emails e
       WHERE e.user_id = ${userId} AND e.kind = 'verification-resend' AND e.sent_at >= ${since})`,
  },
  options: { priority: EMAIL_PRIORITY.verificationResend },
});
export type SendVerificationEmailPayload = z.output<typeof sendVerificationEmail.payload>;
