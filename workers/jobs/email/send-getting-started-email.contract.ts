import { z } from 'zod';
import { defineJob } from '@/workers/jobs/define-job';
import { EMAIL_PRIORITY } from '@/workers/jobs/email/email-priorities';

export const sendGettingStartedEmail = defineJob({
  queue: 'email',
  name: 'send-getting-started-email',
  payload: z.object({ userId: z.uuid() }),
  timeoutMs: 30_000,
  jobId: ({ userId }) => `send-getting-started-email-${userId}`,
  effect: { table: 'sent_emails', column: 'job_id', key: { from: 'job-id' } },
  options: { priority: EMAIL_PRIORITY.followUp },
});
export type SendGettingStartedEmailPayload = z.output<typeof sendGettingStartedEmail.payload>;
