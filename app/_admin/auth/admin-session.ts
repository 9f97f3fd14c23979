// The admin's browser session: a signed cookie naming a session the server keeps
// (session-store.ts). Its value is base64url(JSON {sid, user, iat, exp}) + '.' + base64url(MAC).
//
// The MAC is HMAC-SHA256 under a key made from SESSION_SECRET and the current credentials (an
// HMAC of user and password under the secret), so a leaked cookie says nothing about the password
// without the secret, and a changed password or user fails every older cookie with no store at all.
// Checking the MAC needs no I/O, so the proxy does it too; only the route or page then asks
// Valkey whether the session is still live (not logged out). docs/operations.md, "Who may use the
// admin", has the whole story.
import 'server-only';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const SESSION_COOKIE = 'signup_admin';
/**
 * Its name when the app is served over https. Browsers accept a `__Host-` cookie only with Secure,
 * Path=/ and no Domain, so neither a plain-http page nor a sibling subdomain can set or overwrite it.
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

/**
 * 8 hours: one working day, so the admin logs in once per shift rather than mid-incident, while a
 * cookie that leaks (a shared machine, a copied header) is useless by the next morning. Sessions
 * are not extended by activity, so this is also the longest any one cookie works.
 */
export const SESSION_TTL_SECONDS = 8 * 60 * 60;

/** Tolerated clock drift between web processes for `iat`. */
const CLOCK_SKEW_SECONDS = 60;

/** Separates this key from anything else ever derived from SESSION_SECRET. */
const KEY_CONTEXT = 'signup-admin-session-v2';
const SIGNATURE_BYTES = 32;
/** 128 random bits: nobody guesses a live session's id. */
const SESSION_ID_BYTES = 16;

export interface SessionCredentials {
  user: string;
  password?: string;
  /** SESSION_SECRET (lib/config.ts): without it, as without a password, no session is issued. */
  sessionSecret?: string;
}

export interface AdminSession {
  /** Random, and the session's name in the store (session-store.ts). */
  sid: string;
  user: string;
  /** Issued at, Unix seconds. */
  iat: number;
  /** Expires at, Unix seconds. */
  exp: number;
}

const payloadSchema = z.object({
  sid: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  user: z.string().min(1),
  iat: z.number().int(),
  exp: z.number().int(),
});

/**
 * A signed cookie for a fresh session, not yet live: session-store.ts's openSession records it.
 * Undefined when no password or no session secret is configured.
 */
export function createSessionCookie(
  admin: SessionCredentials,
  now = Date.now(),
): { value: string; session: AdminSession } | undefined {
  const key = signingKey(admin);
  if (!key) return undefined;
  const iat = Math.floor(now / 1_000);
  const session = { sid: randomBytes(SESSION_ID_BYTES).toString('base64url'), user: admin.user, iat, exp: iat + SESSION_TTL_SECONDS };
  const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
  return { value: `${payload}.${sign(key, payload)}`, session };
}

/**
 * The session a cookie value claims, or undefined when it is missing, forged, expired, or signed
 * under other credentials or another secret. Whether it is still live is session-store.ts's question.
 */
export function verifySessionCookie(
  value: string | undefined,
  admin: SessionCredentials,
  now = Date.now(),
): AdminSession | undefined {
  const key = signingKey(admin);
  if (!key || !value) return undefined;
  const [payload, signature, ...rest] = value.split('.');
  if (!payload || !signature || rest.length > 0) return undefined;

  const given = Buffer.from(signature, 'base64url');
  const expected = Buffer.from(sign(key, payload), 'base64url');
  if (given.length !== SIGNATURE_BYTES || !timingSafeEqual(given, expected)) return undefined;

  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const session = payloadSchema.safeParse(decoded);
  if (!session.success) return undefined;
  const nowSeconds = Math.floor(now / 1_000);
  const { sid, user, iat, exp } = session.data;
  if (exp <= nowSeconds || iat > nowSeconds + CLOCK_SKEW_SECONDS || exp - iat > SESSION_TTL_SECONDS) return undefined;
  // The key already depends on the user; this keeps a renamed admin from inheriting old sessions
  // even if that ever changes.
  if (user !== admin.user) return undefined;
  return { sid, user, iat, exp };
}

export interface SessionCookieOptions {
  name: string;
  httpOnly: true;
  sameSite: 'strict';
  path: '/';
  secure: boolean;
  maxAge: number;
}

/**
 * The cookie's name and attributes. HttpOnly keeps it from scripts; SameSite=Strict keeps browsers
 * from sending it on any request another site starts (links included, so a link to /admin from
 * elsewhere shows the login page once). Secure, and the `__Host-` name, when the app is served over
 * https (servedOverHttps): `npm start` serves plain http on 127.0.0.1, where a Secure cookie would
 * not be stored by every browser.
 */
export function sessionCookieOptions(secure: boolean, maxAge = SESSION_TTL_SECONDS): SessionCookieOptions {
  return { name: secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE, httpOnly: true, sameSite: 'strict', path: '/', secure, maxAge };
}

/** A Set-Cookie header value, for route handlers that answer with a plain Response. */
export function serializeSessionCookie(value: string, options: SessionCookieOptions): string {
  const parts = [`${options.name}=${value}`, `Path=${options.path}`, `Max-Age=${options.maxAge}`, 'HttpOnly', 'SameSite=Strict'];
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

/**
 * Whether the app is served over https: what its configured public address (APP_URL) says. Not a
 * request header, which any client can send: X-Forwarded-Proto: https on a plain-http request
 * would otherwise mark the cookie Secure, and http on an https one would drop the flag.
 */
export function servedOverHttps(appUrl: string): boolean {
  return appUrl.startsWith('https:');
}

/** The session cookie's value from a Cookie header: the `__Host-` one first. */
export function sessionCookieFrom(headers: Headers): string | undefined {
  const values = new Map<string, string>();
  for (const pair of (headers.get('cookie') ?? '').split(';')) {
    const separator = pair.indexOf('=');
    if (separator > 0) values.set(pair.slice(0, separator).trim(), pair.slice(separator + 1).trim());
  }
  return values.get(SECURE_SESSION_COOKIE) ?? values.get(SESSION_COOKIE);
}

function sign(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

/**
 * HMAC-SHA256(SESSION_SECRET, context, user, password): a fingerprint of the credentials that only
 * the secret's holder can compute, so the cookie is no oracle for guessing the password. A fast
 * HMAC, not a slow derivation: the secret's 32 random characters are what no one can guess.
 */
function signingKey(admin: SessionCredentials): Buffer | undefined {
  if (!admin.password || !admin.sessionSecret) return undefined;
  return createHmac('sha256', admin.sessionSecret).update(JSON.stringify([KEY_CONTEXT, admin.user, admin.password])).digest();
}
