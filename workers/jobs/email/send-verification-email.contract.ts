import { z } from 'zod';
import { defineJob } from '@/workers/jobs/define-job';
import { EMAIL_PRIORITY } from '@/workers/jobs/email/email-priorities';

export const sendVerificationEmail = defineJob({
  queue: 'email',
  name: 'send-verification-email',
  // requestId: one per press of "resend", so each press sends one email however often its job runs.
  payload: z.object({ userId: z.uuid(), requestId: z.uuid() }),
  timeoutMs: 30_000,
  jobId: ({ requestId }) => `send-verification-email-${requestId}`,
  effect: { table: 'sent_emails', column: 'job_id', key: { from: 'job-id' } },
  options: { priority: EMAIL_PRIORITY.verificationResend },
});
export type SendVerificationEmailPayload = z.output<typeof sendVerificationEmail.payload>;
