import { z } from 'zod';
import { defineJob } from '@/workers/jobs/define-job';

/** Deletes a deleted account's CRM contact (docs/failure-model.md#erasure). */
export const eraseCrmContact = defineJob({
  queue: 'crm',
  name: 'erase-crm-contact',
  payload: z.object({ userId: z.uuid() }),
  // One CRM request plus two database statements, as for the sync.
  timeoutMs: 30_000,
  jobId: ({ userId }) => `erase-crm-contact-${userId}`,
  effect: { table: 'erasures', column: 'job_id', key: { from: 'job-id' } },
});
export type EraseCrmContactPayload = z.output<typeof eraseCrmContact.payload>;
