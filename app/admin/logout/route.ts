// POST /admin/logout: forgets the session in this browser and goes to the login page. POST only,
// from this site only, so another page cannot sign the admin out with an image or a form.
// The cookie is signed, not stored, so a copy taken elsewhere stays valid until it expires.
import { LOGIN_PATH, sameOriginWrite } from '@/app/_admin/auth/admin-auth';
import { serializeSessionCookie, servedOverHttps, sessionCookieFrom, sessionCookieOptions, verifySessionCookie } from '@/app/_admin/auth/admin-session';
import { config } from '@/lib/config';

export const dynamic = 'force-dynamic';

export function POST(request: Request): Response {
  const signedIn = verifySessionCookie(sessionCookieFrom(request.headers), config().admin) !== undefined;
  if (signedIn && !sameOriginWrite(request, 'session')) {
    return Response.json({ error: 'Cross-site request refused.' }, { status: 403 });
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
