// erase-crm-contact
// Enqueued by: an account's deletion (app/_signup/delete-account.ts, through the outbox).
// Side effect: the user's CRM contact deleted, found by the externalId it was created with; one
//   erasures row. sync-crm-contact sends the same delete when it finds its user gone.
// Idempotency: erasures.job_id is unique; a delete of a contact already gone succeeds. No
//   Idempotency-Key: a provider would replay the first answer instead of deleting a later create.
// Retries: 5xx/timeouts retry with the CRM queue's backoff; other 4xx (a 404 too) are permanent.
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { eraseUserData } from '@/workers/jobs/erasure';
import { eraseCrmContact, type EraseCrmContactPayload } from '@/workers/jobs/crm/erase-crm-contact.contract';
import { callProvider } from '@/workers/providers/http-provider';

export function eraseCrmContactHandler(payload: EraseCrmContactPayload, ctx: HandlerContext): Promise<HandlerOutcome> {
  return eraseUserData(eraseCrmContact, payload, ctx, deleteCrmContact);
}

/** Deletes every contact the CRM holds under the user's id (sync-crm-contact's `externalId`). */
export async function deleteCrmContact(ctx: HandlerContext, userId: string): Promise<void> {
  await callProvider({
    provider: 'crm',
    method: 'DELETE',
    url: `${ctx.providers.crm.url}/contacts/by-external-id/${userId}`,
    apiKey: ctx.providers.crm.apiKey,
    timeoutMs: ctx.providerTimeoutMs,
    signal: ctx.signal,
  });
}
