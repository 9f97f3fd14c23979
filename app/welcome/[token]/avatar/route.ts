// GET /welcome/<token>/avatar: the user's generated avatar, proxied from the storage provider so
// the browser never needs the provider's address. Only URLs on STORAGE_URL's origin are fetched,
// with STORAGE_API_KEY when set: the stored URL came from a third party's answer and must not
// steer this server (SSRF), nor receive the key.
import { webRuntime } from '@/app/_web/web-runtime';
import { tokenHash } from '@/lib/access-tokens';
import { config } from '@/lib/config';
import { apiKeyHeaders } from '@/lib/provider-endpoints';

export const dynamic = 'force-dynamic';

/** The image is decoration on a page that already rendered; waiting longer helps nobody. */
const FETCH_TIMEOUT_MS = 3_000;

export async function GET(_request: Request, { params }: { params: Promise<{ token: string }> }): Promise<Response> {
  const { token } = await params;
  const { db, log } = webRuntime();
  const link = await db.accessToken.findUnique({ where: { tokenHash: Uint8Array.from(tokenHash(token)) }, include: { user: { include: { avatar: true } } } });
  const user = link?.purpose === 'status' && link.expiresAt > new Date() ? link.user : undefined;
  if (!user?.avatar) return new Response('Not found', { status: 404, headers: { 'cache-control': 'no-store' } });

  const storage = config().providers.storage;
  const source = providerUrl(user.avatar.url, storage.url);
  if (!source) {
    log.error('stored avatar url is not on the storage provider', { user: user.id });
    return badGateway();
  }

  let upstream: Response;
  try {
    upstream = await fetch(source, {
      headers: apiKeyHeaders(storage.apiKey),
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      redirect: 'error',
      cache: 'no-store',
    });
  } catch (error) {
    log.warn('avatar fetch failed', { user: user.id, error: error instanceof Error ? error.message : String(error) });
    return badGateway();
  }
  if (!upstream.ok) {
    log.warn('avatar fetch refused', { user: user.id, status: upstream.status });
    return badGateway();
  }

  let bytes: ArrayBuffer;
  try {
    bytes = await upstream.arrayBuffer();
  } catch {
    return badGateway();
  }
  return new Response(bytes, {
    headers: {
      'content-type': 'image/png',
      'cache-control': 'private, max-age=3600',
      'x-content-type-options': 'nosniff',
    },
  });
}

/** The stored URL when it is on the storage provider's origin; undefined for anything else. */
function providerUrl(stored: string, storageUrl: string): URL | undefined {
  if (!URL.canParse(stored)) return undefined;
  const url = new URL(stored);
  const provider = new URL(storageUrl);
  return url.protocol === provider.protocol && url.host === provider.host ? url : undefined;
}

function badGateway(): Response {
  return new Response('The avatar could not be loaded from storage.', {
    status: 502,
    headers: { 'cache-control': 'no-store' },
  });
}
