import { z } from 'zod';
import { defineJob } from '@/workers/jobs/define-job';
import { EMAIL_PRIORITY } from '@/workers/jobs/email/email-priorities';

export const sendWelcomeEmail = defineJob({
  queue: 'email',
  name: 'send-welcome-email',
  payload: z.object({ userId: z.uuid() }),
  // One SMTP session: connect, greet and send, each under PROVIDER_TIMEOUT_MS.
  timeoutMs: 30_000,
  jobId: ({ userId }) => `send-welcome-email-${userId}`,
  effect: { table: 'welcome_emails', column: 'user_id', key: { from: 'payload', field: 'userId', uuid: true } },
  options: { priority: EMAIL_PRIORITY.welcome },
});
export type SendWelcomeEmailPayload = z.output<typeof sendWelcomeEmail.payload>;
