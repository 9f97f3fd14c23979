// POST /admin/logout: ends the session on the server, so every copy of its cookie is refused from
// then on (session-store.ts), forgets it in this browser and goes to the login page. POST only, from
// this site only, so another page cannot sign the admin out with an image or a form. When Valkey
// cannot end it, the answer is 503 and the cookie stays, so that the admin can try again rather
// than leave believing a copy elsewhere is dead.
import { LOGIN_PATH, sameOriginWrite } from '@/app/_admin/auth/admin-auth';
import { serializeSessionCookie, servedOverHttps, sessionCookieFrom, sessionCookieOptions, verifySessionCookie } from '@/app/_admin/auth/admin-session';
import { adminSessions, SessionStoreUnavailable } from '@/app/_admin/auth/session-store';
import { config } from '@/lib/config';

export const dynamic = 'force-dynamic';

export async function POST(request: Request): Promise<Response> {
  const session = verifySessionCookie(sessionCookieFrom(request.headers), config().admin);
  if (session && !sameOriginWrite(request, 'session')) {
    return Response.json({ error: 'Cross-site request refused.' }, { status: 403 });
  }
  if (session) {
    try {
      await adminSessions().remove(session);
    } catch (error) {
      if (!(error instanceof SessionStoreUnavailable)) throw error;
      return Response.json(
        { error: 'Valkey is unreachable, so the session could not be ended; try logging out again in a moment.' },
        { status: 503, headers: { 'retry-after': '5', 'cache-control': 'no-store' } },
      );
    }
  }
  return new Response(null, {
    // 303: the browser follows with a GET, whatever the method it posted with.
    status: 303,
    headers: {
      location: LOGIN_PATH,
      'set-cookie': serializeSessionCookie('', sessionCookieOptions(servedOverHttps(config().appUrl), 0)),
      'cache-control': 'no-store',
    },
  });
}
