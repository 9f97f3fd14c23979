import { z } from 'zod';
import { defineJob } from '@/workers/jobs/define-job';

/** Every signup event's id is this and the user id: the same signup is always the same event. */
const SIGNUP_EVENT_PREFIX = 'user_signed_up-';

export const trackSignupEvent = defineJob({
  queue: 'analytics',
  name: 'track-signup-event',
  payload: z.object({ userId: z.uuid() }),
  // One small request; anything slower is a sick provider.
  timeoutMs: 15_000,
  jobId: ({ userId }) => `track-signup-event-${userId}`,
  effect: { table: 'analytics_events', column: 'event_id', key: { from: 'payload', field: 'userId', prefix: SIGNUP_EVENT_PREFIX } },
});
export type TrackSignupEventPayload = z.output<typeof trackSignupEvent.payload>;

/** The event's stable id: the same signup always produces the same event, whatever retries. */
export function signupEventId(userId: string): string {
  return `${SIGNUP_EVENT_PREFIX}${userId}`;
}
