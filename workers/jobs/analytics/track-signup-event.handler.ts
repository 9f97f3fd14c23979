// track-signup-event
// Enqueued by: every signup (through the outbox).
// Side effect: one `user_signed_up` event at the analytics provider.
// Idempotency: analytics_events.event_id is unique and the event id (`user_signed_up-<userId>`) is
//   also the provider's Idempotency-Key, so the event is counted once however often it is sent.
// Retries: 5xx/timeouts retry with exponential backoff; other 4xx are permanent.
import { sql } from '@/lib/sql';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { effectAndUser } from '@/workers/jobs/read-and-validate';
import { recordEffect } from '@/workers/jobs/record-effect';
import {
  signupEventId,
  trackSignupEvent,
  type TrackSignupEventPayload,
} from '@/workers/jobs/analytics/track-signup-event.contract';
import { callProvider } from '@/workers/providers/http-provider';

const EVENT = 'user_signed_up';

export async function trackSignupEventHandler(payload: TrackSignupEventPayload, ctx: HandlerContext): Promise<HandlerOutcome> {
  const { userId } = payload;
  const { done, user } = await effectAndUser(ctx, trackSignupEvent, payload, userId);
  if (done) return { status: 'already-done' };
  if (!user) return { status: 'skipped', reason: 'user deleted' };

  // Analytics gets the pseudonymous user id and the workspace, never the email or name.
  const eventId = signupEventId(userId);
  await callProvider({
    provider: 'analytics',
    method: 'POST',
    url: `${ctx.providerBaseUrl}/analytics/events`,
    idempotencyKey: eventId,
    body: { event: EVENT, eventId, userId, properties: { workspace: user.workspace } },
    timeoutMs: ctx.providerTimeoutMs,
    signal: ctx.signal,
  });

  return recordEffect(
    ctx.pool,
    sql`INSERT INTO analytics_events (event_id, name, user_id) VALUES (${eventId}, ${EVENT}, ${userId}::uuid) ON CONFLICT DO NOTHING`,
    { eventId },
  );
}
