import { z } from 'zod';
import { defineJob } from '@/workers/jobs/define-job';

export const generateAvatar = defineJob({
  queue: 'avatar',
  name: 'generate-avatar',
  payload: z.object({ userId: z.uuid() }),
  // Rendering (CPU, well under a second here) plus one upload.
  timeoutMs: 60_000,
  jobId: ({ userId }) => `generate-avatar-${userId}`,
  effect: { table: 'avatars', column: 'user_id', key: { from: 'payload', field: 'userId', uuid: true } },
});
export type GenerateAvatarPayload = z.output<typeof generateAvatar.payload>;
