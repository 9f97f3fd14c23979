// Who may use the admin area: the browser with a live session cookie (session-store.ts), or, on
// /api/admin/* for scripts, HTTP Basic credentials matching ADMIN_USER / ADMIN_PASSWORD, compared
// in constant time. Without a configured password nobody may. Wrong Basic credentials spend from
// the same budgets as the login form, per client address, per account and from everyone
// (login-throttle.ts). That is judged here, in the route, and not in the proxy, so that each
// attempt is judged and counted once.
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
import { SECURE_SESSION_COOKIE, SESSION_COOKIE, sessionCookieFrom } from '@/app/_admin/auth/admin-session';
import { adminSessions, liveSession, SessionStoreUnavailable, type AdminSessionStore } from '@/app/_admin/auth/session-store';
import { loginThrottle, type LoginThrottle } from '@/app/_admin/auth/login-throttle';
import { clientAddress } from '@/lib/client-address';
import { config } from '@/lib/config';

export interface AdminCredentials {
  user: string;
  password?: string;
  /** SESSION_SECRET: the session cookies' key (admin-session.ts). */
  sessionSecret?: string;
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
  | { refused: 'missing' | 'sessions-unavailable' }
  | { refused: 'wrong'; namesAccount: boolean };

/** Who the request's credentials name, without looking at its method or origin. */
async function identifyAdmin(request: Request, admin: AdminCredentials, now: number, sessions?: AdminSessionStore): Promise<AdminCheck> {
  const cookie = sessionCookieFrom(request.headers);
  if (cookie) {
    try {
      const session = await liveSession(cookie, admin, sessions ?? adminSessions(), now);
      if (session) return { identity: { user: session.user }, via: 'session' };
    } catch (error) {
      if (!(error instanceof SessionStoreUnavailable)) throw error;
      return { refused: 'sessions-unavailable' };
    }
  }

  const given = basicCredentials(request.headers.get('authorization'));
  if (!given) return { refused: 'missing' };
  const checked = checkCredentials(given, admin);
  return checked.matches ? { identity: { user: given.user }, via: 'basic' } : { refused: 'wrong', namesAccount: checked.namesAccount };
}

export interface AuthenticateOptions {
  now?: number;
  /** Defaults to this process's throttle, shared with the login form. */
  throttle?: LoginThrottle;
  /** Defaults to this process's store of live sessions (session-store.ts). */
  sessions?: AdminSessionStore;
}

export async function authenticateAdmin(
  request: Request,
  admin: AdminCredentials,
  options: AuthenticateOptions = {},
): Promise<AdminIdentity | Response> {
  const { now = Date.now(), throttle = loginThrottle() } = options;
  const check = await identifyAdmin(request, admin, now, options.sessions);
  if ('identity' in check && check.via === 'session') return checkOrigin(request, check);
  if ('refused' in check && check.refused === 'sessions-unavailable') return sessionsUnavailable();

  // Asked before the answer is revealed: while a budget is spent, a guesser learns nothing, even
  // when it guesses right. Requests without credentials neither count nor wait.
  const attempt =
    'identity' in check ? { right: true, namesAccount: true } : check.refused === 'wrong' ? { right: false, namesAccount: check.namesAccount } : undefined;
  if (attempt) {
    const decision = await throttle.judge({ client: clientAddress(request.headers), via: 'basic', ...attempt }, options.now);
    if (!decision.allowed) return tooManyAttempts(decision.retryAfterSeconds);
  }
  if ('identity' in check) return checkOrigin(request, check);
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
  const admin = await signedInAdmin();
  if (!admin) redirect(loginPath(nextPath));
  return admin;
}

/**
 * The admin whose live session this request's cookie carries, for pages and server actions; none
 * when Valkey cannot say (fail closed: session-store.ts), and the login form then says why.
 */
export async function signedInAdmin(): Promise<AdminIdentity | undefined> {
  const jar = await cookies();
  const value = jar.get(SECURE_SESSION_COOKIE)?.value ?? jar.get(SESSION_COOKIE)?.value;
  if (!value) return undefined;
  try {
    const session = await liveSession(value, config().admin, adminSessions());
    return session && { user: session.user };
  } catch (error) {
    if (!(error instanceof SessionStoreUnavailable)) throw error;
    return undefined;
  }
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
  return checkCredentials(given, admin).matches;
}

/**
 * credentialsMatch, and whether the user name alone was the admin's: the login budgets count wrong
 * attempts on the account they name (login-throttle.ts). Never shown to the one who typed it.
 */
export function checkCredentials(given: { user: string; password: string }, admin: AdminCredentials): { matches: boolean; namesAccount: boolean } {
  // Both comparisons always run, so timing says nothing about which part was wrong.
  const userMatches = sameSecret(given.user, admin.user);
  const passwordMatches = sameSecret(given.password, admin.password ?? '');
  return { matches: Boolean(admin.password) && userMatches && passwordMatches, namesAccount: userMatches };
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

/** 503: a cookie that may be logged out is not taken while Valkey cannot say (session-store.ts). */
function sessionsUnavailable(): Response {
  return Response.json(
    { error: 'The admin session cannot be checked: Valkey is unreachable. Try again in a moment.' },
    { status: 503, headers: { 'retry-after': '5' } },
  );
}

export function adminCrossSite(): Response {
  return Response.json({ error: 'Cross-site request refused.' }, { status: 403 });
}

function tooManyAttempts(retryAfterSeconds: number): Response {
  return Response.json(
    { error: `Too many wrong credentials; try again in ${retryAfterSeconds} s.` },
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
