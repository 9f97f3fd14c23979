import { z } from 'zod';
import { defineJob } from '@/workers/define-job';

export const sendWelcomeEmail = defineJob({
  queue: 'email',
  name: 'send-welcome-email',
  payload: z.object({ userId: z.uuid() }),
  jobId: ({ userId }) => `send-welcome-email-${userId}`,
  // ~17 minutes of retries (1 s doubling, 10 attempts) before the job is left failed.
  options: { attempts: 10, backoff: { type: 'exponential', delay: 1_000 } },
});
export type SendWelcomeEmailPayload = z.output<typeof sendWelcomeEmail.payload>;
