// generate-avatar
// Enqueued by: every signup (through the outbox).
// Side effect: a PNG identicon rendered here and uploaded to the storage provider; its URL is
//   stored in avatars. Rendering is CPU work, so the avatar queue runs this handler in BullMQ's
//   sandboxed processor (generate-avatar.sandbox.ts), off the worker's event loop.
// Idempotency: avatars.user_id is unique; the upload carries Idempotency-Key
//   `generate-avatar-<userId>` and the rendering is deterministic, so a resend stores nothing new.
// Retries: upload failures retry with exponential backoff; other 4xx are permanent.
import { sql } from '@/lib/sql';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { effectAndUser } from '@/workers/jobs/read-and-validate';
import { recordEffect } from '@/workers/jobs/record-effect';
import { generateAvatar, type GenerateAvatarPayload } from '@/workers/jobs/avatar/generate-avatar.contract';
import { renderAvatarPng } from '@/workers/jobs/avatar/render-avatar';
import { callProvider } from '@/workers/providers/http-provider';
import { PermanentProviderError } from '@/workers/providers/provider-errors';

export async function generateAvatarHandler(payload: GenerateAvatarPayload, ctx: HandlerContext): Promise<HandlerOutcome> {
  const { userId } = payload;
  const { done, user } = await effectAndUser(ctx, generateAvatar, payload, userId);
  if (done) return { status: 'already-done' };
  if (!user) return { status: 'skipped', reason: 'user deleted' };

  const png = await renderAvatarPng(userId);
  const stored = await callProvider<{ url?: unknown }>({
    provider: 'storage',
    method: 'PUT',
    url: `${ctx.providerBaseUrl}/storage/avatars/${userId}.png`,
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

  return recordEffect(ctx.pool, sql`INSERT INTO avatars (user_id, url) VALUES (${userId}::uuid, ${url}) ON CONFLICT DO NOTHING`, { url });
}
