// GET /welcome/<token>/avatar: the user's generated avatar, proxied from the storage provider so
// the browser never needs the provider's address. Only URLs on the configured provider are
// fetched: the stored URL came from a third party's answer and must not steer this server (SSRF).
import { webRuntime } from '@/app/_web/web-runtime';
import { config } from '@/lib/config';

export const dynamic = 'force-dynamic';

/** The image is decoration on a page that already rendered; waiting longer helps nobody. */
const FETCH_TIMEOUT_MS = 3_000;

export async function GET(_request: Request, { params }: { params: Promise<{ token: string }> }): Promise<Response> {
  const { token } = await params;
  const { db, log } = webRuntime();
  const user = await db.user.findUnique({ where: { statusToken: token }, include: { avatar: true } });
  if (!user?.avatar) return new Response('Not found', { status: 404, headers: { 'cache-control': 'no-store' } });

  const source = providerUrl(user.avatar.url);
  if (!source) {
    log.error('stored avatar url is not on the storage provider', { user: user.id });
    return badGateway();
  }

  let upstream: Response;
  try {
    upstream = await fetch(source, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error', cache: 'no-store' });
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

/** The stored URL when it points at the configured storage provider; undefined for anything else. */
function providerUrl(stored: string): URL | undefined {
  if (!URL.canParse(stored)) return undefined;
  const url = new URL(stored);
  const provider = new URL(config().providers.httpBaseUrl);
  return url.protocol === provider.protocol && url.host === provider.host ? url : undefined;
}

function badGateway(): Response {
  return new Response('The avatar could not be loaded from storage.', {
    status: 502,
    headers: { 'cache-control': 'no-store' },
  });
}
