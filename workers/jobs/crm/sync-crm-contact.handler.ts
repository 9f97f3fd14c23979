// sync-crm-contact
// Enqueued by: every signup (through the outbox).
// Side effect: one contact in the CRM; its id is stored in crm_contacts.
// Idempotency: crm_contacts.user_id is unique; the request carries Idempotency-Key
//   `sync-crm-contact-<userId>`, so a resend after a crash between call and record gets the same
//   contact back instead of creating a second one.
// Retries: 5xx/timeouts retry with exponential backoff; other 4xx are permanent.
// Deleted account: a run that finds the user gone, before or after its call, deletes the contact
//   and skips, so a create that lands after the erasure is removed (docs/failure-model.md#erasure).
import { sql } from '@/lib/sql';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { recordWhileUserExists, skipUndoing } from '@/workers/jobs/erasure';
import { effectAndUser } from '@/workers/jobs/read-and-validate';
import { syncCrmContact, type SyncCrmContactPayload } from '@/workers/jobs/crm/sync-crm-contact.contract';
import { deleteCrmContact } from '@/workers/jobs/crm/erase-crm-contact.handler';
import { callProvider } from '@/workers/providers/http-provider';
import { PermanentProviderError } from '@/workers/providers/provider-errors';

export async function syncCrmContactHandler(payload: SyncCrmContactPayload, ctx: HandlerContext): Promise<HandlerOutcome> {
  const { userId } = payload;
  const { done, user } = await effectAndUser(ctx, syncCrmContact, payload, userId);
  if (done) return { status: 'already-done' };
  if (!user) return skipUndoing(ctx, userId, deleteCrmContact);

  const contact = await callProvider<{ id?: unknown }>({
    provider: 'crm',
    method: 'POST',
    url: `${ctx.providers.crm.url}/contacts`,
    apiKey: ctx.providers.crm.apiKey,
    idempotencyKey: syncCrmContact.jobId(payload),
    body: { externalId: userId, email: user.email, name: user.name, workspace: user.workspace ?? undefined },
    timeoutMs: ctx.providerTimeoutMs,
    signal: ctx.signal,
  });
  // Read and validate: an answer without a contact id is the CRM's bug, not something to record.
  const crmContactId = contact.id;
  if (typeof crmContactId !== 'string' || crmContactId === '') {
    throw new PermanentProviderError('crm', 'answered without a contact id');
  }

  const recorded = await recordWhileUserExists(
    ctx,
    userId,
    (owner) => sql`INSERT INTO crm_contacts (user_id, crm_contact_id) SELECT id, ${crmContactId} FROM ${owner} ON CONFLICT DO NOTHING RETURNING 1`,
    { crmContactId },
  );
  return recorded ?? skipUndoing(ctx, userId, deleteCrmContact);
}
