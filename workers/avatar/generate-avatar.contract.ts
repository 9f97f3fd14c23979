import { z } from 'zod';
import { defineJob } from '@/workers/define-job';

export const generateAvatar = defineJob({
  queue: 'avatar',
  name: 'generate-avatar',
  payload: z.object({ userId: z.uuid() }),
  jobId: ({ userId }) => `generate-avatar-${userId}`,
  // Rendering is local and deterministic; only the upload can fail, so fewer attempts suffice.
  options: { attempts: 8, backoff: { type: 'exponential', delay: 1_000 } },
});
export type GenerateAvatarPayload = z.output<typeof generateAvatar.payload>;
