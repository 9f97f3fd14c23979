// sync-crm-contact
// Enqueued by: every signup (through the outbox).
// Side effect: one contact in the CRM; its id is stored in crm_contacts.
// Idempotency: crm_contacts.user_id is unique; the request carries Idempotency-Key
//   `sync-crm-contact-<userId>`, so a resend after a crash between call and record gets the same
//   contact back instead of creating a second one.
// Retries: 5xx/timeouts retry with exponential backoff; other 4xx are permanent.
import { sql } from '@/lib/sql';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { effectAndUser } from '@/workers/jobs/read-and-validate';
import { recordEffect } from '@/workers/jobs/record-effect';
import { syncCrmContact, type SyncCrmContactPayload } from '@/workers/jobs/crm/sync-crm-contact.contract';
import { callProvider } from '@/workers/providers/http-provider';
import { PermanentProviderError } from '@/workers/providers/provider-errors';

export async function syncCrmContactHandler(payload: SyncCrmContactPayload, ctx: HandlerContext): Promise<HandlerOutcome> {
  const { userId } = payload;
  const { done, user } = await effectAndUser(ctx, syncCrmContact, payload, userId);
  if (done) return { status: 'already-done' };
  if (!user) return { status: 'skipped', reason: 'user deleted' };

  const contact = await callProvider<{ id?: unknown }>({
    provider: 'crm',
    method: 'POST',
    url: `${ctx.providerBaseUrl}/crm/contacts`,
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

  return recordEffect(
    ctx.pool,
    sql`INSERT INTO crm_contacts (user_id, crm_contact_id) VALUES (${userId}::uuid, ${crmContactId}) ON CONFLICT DO NOTHING`,
    { crmContactId },
  );
}
