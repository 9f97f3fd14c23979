import { z } from 'zod';
import { defineJob } from '@/workers/define-job';

export const syncCrmContact = defineJob({
  queue: 'crm',
  name: 'sync-crm-contact',
  payload: z.object({ userId: z.uuid() }),
  jobId: ({ userId }) => `sync-crm-contact-${userId}`,
  // A CRM lagging behind for a while harms nobody: ~17 minutes of retries.
  options: { attempts: 10, backoff: { type: 'exponential', delay: 1_000 } },
});
export type SyncCrmContactPayload = z.output<typeof syncCrmContact.payload>;
