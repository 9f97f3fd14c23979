// generate-avatar
// Enqueued by: every signup (through the outbox).
// Side effect: a PNG identicon rendered here and uploaded to the storage provider; its URL is
//   stored in avatars. Rendering is CPU work, so the avatar queue runs this handler in BullMQ's
//   sandboxed processor (generate-avatar.sandbox.ts), off the worker's event loop.
// Idempotency: avatars.user_id is unique; the upload carries Idempotency-Key
//   `generate-avatar-<userId>` and the rendering is deterministic, so a resend stores nothing new.
// Retries: upload failures retry with exponential backoff; other 4xx are permanent.
// Deleted account: a run that finds the user gone, before or after its upload, deletes the avatar
//   and skips, so an upload that lands after the erasure is removed (docs/failure-model.md#erasure).
import { sql } from '@/lib/sql';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { recordWhileUserExists, skipUndoing } from '@/workers/jobs/erasure';
import { effectAndUser } from '@/workers/jobs/read-and-validate';
import { generateAvatar, type GenerateAvatarPayload } from '@/workers/jobs/avatar/generate-avatar.contract';
import { deleteAvatar } from '@/workers/jobs/avatar/erase-avatar.handler';
import { renderAvatarPng } from '@/workers/jobs/avatar/render-avatar';
import { callProvider } from '@/workers/providers/http-provider';
import { PermanentProviderError } from '@/workers/providers/provider-errors';

export async function generateAvatarHandler(payload: GenerateAvatarPayload, ctx: HandlerContext): Promise<HandlerOutcome> {
  const { userId } = payload;
  const { done, user } = await effectAndUser(ctx, generateAvatar, payload, userId);
  if (done) return { status: 'already-done' };
  if (!user) return skipUndoing(ctx, userId, deleteAvatar);

  const png = await renderAvatarPng(userId);
  const stored = await callProvider<{ url?: unknown }>({
    provider: 'storage',
    method: 'PUT',
    url: `${ctx.providers.storage.url}/avatars/${userId}.png`,
    apiKey: ctx.providers.storage.apiKey,
    idempotencyKey: generateAvatar.jobId(payload),
    body: new Uint8Array(png),
    contentType: 'image/png',
    timeoutMs: ctx.providerTimeoutMs,
    signal: ctx.signal,
  });
  const url = stored.url;
  if (typeof url !== 'string' || !URL.canParse(url)) {
    throw new PermanentProviderError('storage', 'answered without a valid url');
  }

  const recorded = await recordWhileUserExists(
    ctx,
    userId,
    (owner) => sql`INSERT INTO avatars (user_id, url) SELECT id, ${url} FROM ${owner} ON CONFLICT DO NOTHING RETURNING 1`,
    { url },
  );
  return recorded ?? skipUndoing(ctx, userId, deleteAvatar);
}
