// Who may use the admin area: the browser with a valid session cookie (admin-session.ts), or, on
// /api/admin/* for scripts, HTTP Basic credentials matching ADMIN_USER / ADMIN_PASSWORD, compared
// in constant time. Without a configured password nobody may. Wrong Basic credentials count towards
// the same per-address throttle as the login form (login-throttle.ts). That is judged here, in the
// route, and not in the proxy, because only here does Next tell us the client's address.
//
// State-changing requests must come from this site. A session cookie is SameSite=Strict, but a
// write it authenticates must also prove its origin (Origin, or Sec-Fetch-Site: same-origin), so
// a browser that sends neither is refused. Basic credentials from scripts (no Origin) stay allowed;
// a browser's Origin must still name this host, because browsers replay cached Basic credentials on
// cross-site requests.
import 'server-only';
import { createHash, timingSafeEqual } from 'node:crypto';
import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { SECURE_SESSION_COOKIE, SESSION_COOKIE, sessionCookieFrom, verifySessionCookie } from '@/app/_admin/auth/admin-session';
import { loginThrottle, type LoginThrottle } from '@/app/_admin/auth/login-throttle';
import { clientAddress } from '@/app/_signup/rate-limiter';
import { config } from '@/lib/config';

export interface AdminCredentials {
  user: string;
  password?: string;
}

export interface AdminIdentity {
  user: string;
}

export const LOGIN_PATH = '/admin/login';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}

type AdminCheck =
  | { identity: AdminIdentity; via: 'session' | 'basic' }
  | { refused: 'missing' | 'wrong' };

/** Who the request's credentials name, without looking at its method or origin. */
function identifyAdmin(request: Request, admin: AdminCredentials, now = Date.now()): AdminCheck {
  const session = verifySessionCookie(sessionCookieFrom(request.headers), admin, now);
  if (session) return { identity: { user: session.user }, via: 'session' };

  const given = basicCredentials(request.headers.get('authorization'));
  if (!given) return { refused: 'missing' };
  return credentialsMatch(given, admin) ? { identity: { user: given.user }, via: 'basic' } : { refused: 'wrong' };
}

export interface AuthenticateOptions {
  now?: number;
  /** Defaults to this process's throttle, shared with the login form. */
  throttle?: LoginThrottle;
}

export function authenticateAdmin(request: Request, admin: AdminCredentials, options: AuthenticateOptions = {}): AdminIdentity | Response {
  const { now = Date.now(), throttle = loginThrottle() } = options;
  const check = identifyAdmin(request, admin, now);
  if ('identity' in check && check.via === 'session') return checkOrigin(request, check);

  // Asked before the answer is revealed: an address out of attempts learns nothing, even when it
  // guesses right. Requests without credentials neither count nor wait.
  const client = clientAddress(request.headers);
  const decision = 'identity' in check || check.refused === 'wrong' ? throttle.check(client, now) : ({ allowed: true } as const);
  if (!decision.allowed) return tooManyAttempts(decision.retryAfterSeconds);
  if ('identity' in check) return checkOrigin(request, check);
  if (check.refused === 'wrong') throttle.recordFailure(client, now);
  return adminUnauthorized();
}

function checkOrigin(request: Request, check: { identity: AdminIdentity; via: 'session' | 'basic' }): AdminIdentity | Response {
  if (isSafeMethod(request.method) || sameOriginWrite(request, check.via)) return check.identity;
  return adminCrossSite();
}

/**
 * For admin pages (server components): the signed-in admin, or a redirect to the login page that
 * comes back to `nextPath` afterwards. Call it first, before reading anything.
 */
export async function requireAdminPage(nextPath: string): Promise<AdminIdentity> {
  const jar = await cookies();
  const session = verifySessionCookie(jar.get(SECURE_SESSION_COOKIE)?.value ?? jar.get(SESSION_COOKIE)?.value, config().admin);
  if (!session) redirect(loginPath(nextPath));
  return { user: session.user };
}

/** The login page's address, coming back to `nextPath` (an admin path) after signing in. */
export function loginPath(nextPath?: string): string {
  const next = nextPath === undefined ? undefined : safeNextPath(nextPath);
  return next === undefined || next === DEFAULT_AFTER_LOGIN ? LOGIN_PATH : `${LOGIN_PATH}?next=${encodeURIComponent(next)}`;
}

export const DEFAULT_AFTER_LOGIN = '/admin';

/**
 * Where a login may send the browser afterwards: only a path of this site's admin area, so the
 * login page cannot be used to bounce someone to another site (`//evil.example`, `/\evil.example`,
 * `https://…`) or back into the login and logout routes.
 */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2_000) return DEFAULT_AFTER_LOGIN;
  // Backslashes and control characters are read as slashes or dropped by some browsers.
  if (!next.startsWith('/') || next.startsWith('//') || /[\\\p{Cc}]/u.test(next)) return DEFAULT_AFTER_LOGIN;
  const base = 'http://admin.invalid';
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return DEFAULT_AFTER_LOGIN;
  }
  if (url.origin !== base) return DEFAULT_AFTER_LOGIN;
  const inAdmin = url.pathname === '/admin' || url.pathname.startsWith('/admin/');
  if (!inAdmin || url.pathname === LOGIN_PATH || url.pathname === '/admin/logout') return DEFAULT_AFTER_LOGIN;
  return `${url.pathname}${url.search}`;
}

/** Constant-time check of a user and password against the configured ones. */
export function credentialsMatch(given: { user: string; password: string }, admin: AdminCredentials): boolean {
  // Both comparisons always run, so timing says nothing about which part was wrong.
  const userMatches = sameSecret(given.user, admin.user);
  const passwordMatches = sameSecret(given.password, admin.password ?? '');
  return Boolean(admin.password) && userMatches && passwordMatches;
}

/**
 * Whether a state-changing request comes from this site. With a session cookie the browser must
 * prove it: an Origin naming this host, or, without Origin, Sec-Fetch-Site: same-origin. Basic
 * credentials without an Origin are a script's and allowed.
 */
export function sameOriginWrite(request: Request, via: 'session' | 'basic'): boolean {
  const fetchSite = request.headers.get('sec-fetch-site');
  if (fetchSite === 'cross-site' || fetchSite === 'same-site') return false;
  const origin = request.headers.get('origin');
  if (origin === null) return via === 'basic' || fetchSite === 'same-origin';
  const host = request.headers.get('x-forwarded-host') ?? request.headers.get('host');
  try {
    return host !== null && new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function hasBasicCredentials(request: Request): boolean {
  return /^Basic\s/i.test(request.headers.get('authorization') ?? '');
}

/** 401 with a Basic challenge, so scripts and curl know what to send. */
export function adminUnauthorized(): Response {
  return Response.json(
    { error: 'Authentication required.' },
    { status: 401, headers: { 'www-authenticate': 'Basic realm="admin", charset="UTF-8"' } },
  );
}

export function adminCrossSite(): Response {
  return Response.json({ error: 'Cross-site request refused.' }, { status: 403 });
}

function tooManyAttempts(retryAfterSeconds: number): Response {
  return Response.json(
    { error: `Too many wrong credentials from this address; try again in ${retryAfterSeconds} s.` },
    { status: 429, headers: { 'retry-after': String(retryAfterSeconds) } },
  );
}

function basicCredentials(header: string | null): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Hashing first gives equal lengths, which timingSafeEqual requires, without leaking the length. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
