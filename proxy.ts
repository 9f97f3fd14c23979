// The admin area's front door (Next 16's proxy, formerly middleware): every request under /admin
// and /api/admin, and to the admin-only workspace invitations API (app/_workspaces/), passes here
// first. Pages without a valid session go to the login page; the APIs without a session or Basic
// credentials get 401. Routes and pages still check for themselves (authenticateAdmin,
// requireAdminPage): this is one layer, not the only one.
//
// Here a session cookie is judged by its signature and lifetime alone, with no I/O; whether it was
// logged out is asked of Valkey by the route or page (session-store.ts), once per request. A
// logged-out cookie therefore passes this gate and is refused there.
//
// Basic credentials are passed on unjudged: the route compares them and counts wrong ones in the
// login budgets (login-throttle.ts), so that each attempt is judged and counted once, in one
// place. Judging them here, uncounted, would hand a guesser an unthrottled yes/no.
import type { NextRequest } from 'next/server';
import {
  adminCrossSite,
  adminUnauthorized,
  hasBasicCredentials,
  isSafeMethod,
  LOGIN_PATH,
  loginPath,
  sameOriginWrite,
  type AdminCredentials,
} from '@/app/_admin/auth/admin-auth';
import { sessionCookieFrom, verifySessionCookie } from '@/app/_admin/auth/admin-session';
import { config as appConfig } from '@/lib/config';

export const config = {
  // Next reads this statically: it must stay a literal. tests/admin-routes.test.ts checks that it
  // covers every route under app/admin and app/api/admin, and the invitations API.
  matcher: ['/admin/:path*', '/api/admin/:path*', '/api/workspaces/:slug/invites'],
};

export function proxy(request: NextRequest): Response | undefined {
  return adminGate(request);
}

export interface AdminGateDeps {
  admin: AdminCredentials;
  now?: number;
}

/** The gate's decision: a response that ends the request, or undefined to let it through. */
export function adminGate(request: Request, deps: AdminGateDeps = { admin: appConfig().admin }): Response | undefined {
  const url = new URL(request.url);
  const { pathname } = url;
  const api = isUnder(pathname, '/api/admin') || INVITES_API.test(pathname);
  if (!api && (!isUnder(pathname, '/admin') || pathname === LOGIN_PATH)) return undefined;

  if (verifySessionCookie(sessionCookieFrom(request.headers), deps.admin, deps.now)) {
    return isSafeMethod(request.method) || sameOriginWrite(request, 'session') ? undefined : adminCrossSite();
  }
  if (api) return hasBasicCredentials(request) ? undefined : adminUnauthorized();

  // Pages take the session only; Basic credentials are for scripts on /api/admin.
  if (!isSafeMethod(request.method)) {
    // 303 turns a refused POST into a GET of the login page; coming back to a POST makes no sense.
    return redirectTo(new URL(LOGIN_PATH, url), 303);
  }
  url.searchParams.delete('_rsc');
  return redirectTo(new URL(loginPath(`${pathname}${url.search}`), url), 307);
}

/** POST /api/workspaces/<slug>/invites: it can mail thousands of addresses, so only the admin may. */
const INVITES_API = /^\/api\/workspaces\/[^/]+\/invites\/?$/;

function isUnder(pathname: string, prefix: string): boolean {
  return pathname === prefix || pathname.startsWith(`${prefix}/`);
}

/**
 * An absolute Location: Next's proxy adapter parses it as a URL, and rewrites it to a relative one
 * itself when it points at the request's own host.
 */
function redirectTo(location: URL, status: 303 | 307): Response {
  return new Response(null, { status, headers: { location: location.toString(), 'cache-control': 'no-store' } });
}
