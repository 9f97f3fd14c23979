// track-signup-event
// Enqueued by: every signup (through the outbox).
// Side effect: one `user_signed_up` event at the analytics provider.
// Idempotency: analytics_events.event_id is unique and the event id (`user_signed_up-<userId>`) is
//   also the provider's Idempotency-Key, so the event is counted once however often it is sent.
// Retries: 5xx/timeouts retry with exponential backoff; other 4xx are permanent.
// Deleted account: a run that finds the user gone, before or after its call, deletes the user's
//   events and skips, so an event that lands after the erasure is removed (docs/failure-model.md#erasure).
import { sql } from '@/lib/sql';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { recordWhileUserExists, skipUndoing } from '@/workers/jobs/erasure';
import { effectAndUser } from '@/workers/jobs/read-and-validate';
import { deleteAnalyticsEvents } from '@/workers/jobs/analytics/erase-analytics-events.handler';
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
  if (!user) return skipUndoing(ctx, userId, deleteAnalyticsEvents);

  // Analytics gets the pseudonymous user id and the workspace, never the email or name.
  const eventId = signupEventId(userId);
  await callProvider({
    provider: 'analytics',
    method: 'POST',
    url: `${ctx.providers.analytics.url}/events`,
    apiKey: ctx.providers.analytics.apiKey,
    idempotencyKey: eventId,
    body: { event: EVENT, eventId, userId, properties: { workspace: user.workspace } },
    timeoutMs: ctx.providerTimeoutMs,
    signal: ctx.signal,
  });

  const recorded = await recordWhileUserExists(
    ctx,
    userId,
    (owner) => sql`INSERT INTO analytics_events (event_id, name, user_id) SELECT ${eventId}, ${EVENT}, id FROM ${owner} ON CONFLICT DO NOTHING RETURNING 1`,
    { eventId },
  );
  return recorded ?? skipUndoing(ctx, userId, deleteAnalyticsEvents);
}
