import { z } from 'zod';
import { defineJob } from '@/workers/jobs/define-job';

export const trackSignupEvent = defineJob({
  queue: 'analytics',
  name: 'track-signup-event',
  payload: z.object({ userId: z.uuid() }),
  // One small request; anything slower is a sick provider.
  timeoutMs: 15_000,
  jobId: ({ userId }) => `track-signup-event-${userId}`,
});
export type TrackSignupEventPayload = z.output<typeof trackSignupEvent.payload>;

/** The event's stable id: the same signup always produces the same event, whatever retries. */
export function signupEventId(userId: string): string {
  return `user_signed_up-${userId}`;
}
