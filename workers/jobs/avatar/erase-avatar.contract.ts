import { z } from 'zod';
import { defineJob } from '@/workers/jobs/define-job';

/** Deletes a deleted account's stored avatar (docs/failure-model.md#erasure). */
export const eraseAvatar = defineJob({
  queue: 'avatar',
  name: 'erase-avatar',
  payload: z.object({ userId: z.uuid() }),
  // One delete request, no rendering.
  timeoutMs: 15_000,
  jobId: ({ userId }) => `erase-avatar-${userId}`,
  effect: { table: 'erasures', column: 'job_id', key: { from: 'job-id' } },
});
export type EraseAvatarPayload = z.output<typeof eraseAvatar.payload>;
