// The admin's browser session: a signed cookie, so any web process can check it without shared
// state. Its value is base64url(JSON {user, iat, exp}) + '.' + base64url(HMAC-SHA256 of that part).
//
// The signing key is derived from ADMIN_USER and ADMIN_PASSWORD, so no extra secret has to be
// configured, every web process derives the same key, and changing the password (or the user)
// logs every session out. The derivation is scrypt, not a fast KDF such as HKDF: a leaked cookie
// is a known plaintext/MAC pair, and a slow derivation keeps it from being a cheap offline oracle
// for guessing the password.
//
// A session cannot be revoked before it expires: logout removes the cookie from that browser, and
// a stolen cookie stays valid until `exp`. The short lifetime is what bounds that.
import 'server-only';
import { createHmac, scryptSync, timingSafeEqual } from 'node:crypto';
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

/** Node's default scrypt cost (N = 2^14, 16 MiB): ~30 ms once per process and credentials. */
const SCRYPT_COST = { N: 2 ** 14, r: 8, p: 1 } as const;
const KEY_CONTEXT = 'signup-admin-session-v1';
const SIGNATURE_BYTES = 32;

export interface SessionCredentials {
  user: string;
  password?: string;
}

export interface AdminSession {
  user: string;
  /** Issued at, Unix seconds. */
  iat: number;
  /** Expires at, Unix seconds. */
  exp: number;
}

const payloadSchema = z.object({
  user: z.string().min(1),
  iat: z.number().int(),
  exp: z.number().int(),
});

/** The cookie's value for a fresh session; undefined when no password is configured. */
export function createSessionCookie(
  admin: SessionCredentials,
  now = Date.now(),
): { value: string; session: AdminSession } | undefined {
  const key = signingKey(admin);
  if (!key) return undefined;
  const iat = Math.floor(now / 1_000);
  const session = { user: admin.user, iat, exp: iat + SESSION_TTL_SECONDS };
  const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
  return { value: `${payload}.${sign(key, payload)}`, session };
}

/** The session a cookie value proves, or undefined when it is missing, forged, expired or stale. */
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
  const { user, iat, exp } = session.data;
  if (exp <= nowSeconds || iat > nowSeconds + CLOCK_SKEW_SECONDS || exp - iat > SESSION_TTL_SECONDS) return undefined;
  // The key already depends on the user; this keeps a renamed admin from inheriting old sessions
  // even if that ever changes.
  if (user !== admin.user) return undefined;
  return { user, iat, exp };
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

// One entry: the process has one set of credentials (tests switch between a few).
const derivedKeys = new Map<string, Buffer>();

function signingKey(admin: SessionCredentials): Buffer | undefined {
  if (!admin.password) return undefined;
  const id = JSON.stringify([admin.user, admin.password]);
  let key = derivedKeys.get(id);
  if (!key) {
    key = scryptSync(admin.password, `${KEY_CONTEXT}:${admin.user}`, 32, SCRYPT_COST);
    derivedKeys.clear();
    derivedKeys.set(id, key);
  }
  return key;
}
