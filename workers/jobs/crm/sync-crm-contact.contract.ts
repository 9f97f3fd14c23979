import { z } from 'zod';
import { defineJob } from '@/workers/jobs/define-job';

export const syncCrmContact = defineJob({
  queue: 'crm',
  name: 'sync-crm-contact',
  payload: z.object({ userId: z.uuid() }),
  // One CRM request plus two database writes.
  timeoutMs: 30_000,
  jobId: ({ userId }) => `sync-crm-contact-${userId}`,
  effect: { table: 'crm_contacts', column: 'user_id', key: { from: 'payload', field: 'userId', uuid: true } },
});
export type SyncCrmContactPayload = z.output<typeof syncCrmContact.payload>;
