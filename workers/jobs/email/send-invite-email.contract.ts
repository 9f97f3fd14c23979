import { z } from 'zod';
import { defineJob } from '@/workers/jobs/define-job';
import { EMAIL_PRIORITY } from '@/workers/jobs/email/email-priorities';

export const sendInviteEmail = defineJob({
  queue: 'email',
  name: 'send-invite-email',
  payload: z.object({ invitationId: z.uuid() }),
  // One SMTP session, like the welcome email.
  timeoutMs: 30_000,
  jobId: ({ invitationId }) => `send-invite-email-${invitationId}`,
  effect: { table: 'sent_emails', column: 'job_id', key: { from: 'job-id' } },
  pacedByTenant: true,
  options: { priority: EMAIL_PRIORITY.invitation },
});
export type SendInviteEmailPayload = z.output<typeof sendInviteEmail.payload>;
