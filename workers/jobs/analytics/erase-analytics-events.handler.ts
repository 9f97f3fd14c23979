// erase-analytics-events
// Enqueued by: an account's deletion (app/_signup/delete-account.ts, through the outbox).
// Side effect: every event the analytics provider holds for the user deleted; one erasures row.
//   track-signup-event sends the same delete when it finds its user gone.
// Idempotency: erasures.job_id is unique; deleting the events of a user who has none succeeds. No
//   Idempotency-Key: a provider would replay the first answer instead of deleting a later event.
// Retries: 5xx/timeouts retry with the analytics queue's backoff; other 4xx are permanent.
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { eraseUserData } from '@/workers/jobs/erasure';
import {
  eraseAnalyticsEvents,
  type EraseAnalyticsEventsPayload,
} from '@/workers/jobs/analytics/erase-analytics-events.contract';
import { callProvider } from '@/workers/providers/http-provider';

export function eraseAnalyticsEventsHandler(payload: EraseAnalyticsEventsPayload, ctx: HandlerContext): Promise<HandlerOutcome> {
  return eraseUserData(eraseAnalyticsEvents, payload, ctx, deleteAnalyticsEvents);
}

/** Deletes every event recorded for the user (track-signup-event's `userId`). */
export async function deleteAnalyticsEvents(ctx: HandlerContext, userId: string): Promise<void> {
  await callProvider({
    provider: 'analytics',
    method: 'DELETE',
    url: `${ctx.providers.analytics.url}/users/${userId}/events`,
    apiKey: ctx.providers.analytics.apiKey,
    timeoutMs: ctx.providerTimeoutMs,
    signal: ctx.signal,
  });
}
