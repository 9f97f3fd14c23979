import { z } from 'zod';
import { defineJob } from '@/workers/jobs/define-job';

/** Deletes a deleted account's analytics events (docs/failure-model.md#erasure). */
export const eraseAnalyticsEvents = defineJob({
  queue: 'analytics',
  name: 'erase-analytics-events',
  payload: z.object({ userId: z.uuid() }),
  // One small request; anything slower is a sick provider.
  timeoutMs: 15_000,
  jobId: ({ userId }) => `erase-analytics-events-${userId}`,
  effect: { table: 'erasures', column: 'job_id', key: { from: 'job-id' } },
});
export type EraseAnalyticsEventsPayload = z.output<typeof eraseAnalyticsEvents.payload>;
