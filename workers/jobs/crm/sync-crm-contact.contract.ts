import { z } from 'zod';
import { defineJob } from '@/workers/jobs/define-job';

export const syncCrmContact = defineJob({
  queue: 'crm',
  name: 'sync-crm-contact',
  payload: z.object({ userId: z.uuid() }),
  // One CRM request plus two database writes.
  timeoutMs: 30_000,
  jobId: ({ userId }) => `sync-crm-contact-${userId}`,
});
export type SyncCrmContactPayload = z.output<typeof syncCrmContact.payload>;
