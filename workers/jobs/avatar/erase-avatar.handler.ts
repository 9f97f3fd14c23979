// erase-avatar
// Enqueued by: an account's deletion (app/_signup/delete-account.ts, through the outbox).
// Side effect: the user's stored avatar deleted from the storage provider; one erasures row. Runs
//   in the avatar queue's sandbox like every avatar job, though it renders nothing.
//   generate-avatar sends the same delete when it finds its user gone.
// Idempotency: erasures.job_id is unique; deleting an avatar already gone succeeds. No
//   Idempotency-Key: a provider would replay the first answer instead of deleting a later upload.
// Retries: 5xx/timeouts retry with the avatar queue's backoff; other 4xx are permanent.
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { eraseUserData } from '@/workers/jobs/erasure';
import { eraseAvatar, type EraseAvatarPayload } from '@/workers/jobs/avatar/erase-avatar.contract';
import { callProvider } from '@/workers/providers/http-provider';

export function eraseAvatarHandler(payload: EraseAvatarPayload, ctx: HandlerContext): Promise<HandlerOutcome> {
  return eraseUserData(eraseAvatar, payload, ctx, deleteAvatar);
}

/** Deletes the object generate-avatar uploads for the user. */
export async function deleteAvatar(ctx: HandlerContext, userId: string): Promise<void> {
  await callProvider({
    provider: 'storage',
    method: 'DELETE',
    url: `${ctx.providers.storage.url}/avatars/${userId}.png`,
    apiKey: ctx.providers.storage.apiKey,
    timeoutMs: ctx.providerTimeoutMs,
    signal: ctx.signal,
  });
}
