// The admin login: a signed session cookie (Secure and __Host- when APP_URL is https, whatever a
// request header claims), a throttled form that never says which part was wrong, no open redirect,
// origin checks on every cookie-authenticated write, Basic for scripts, logout.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { authenticateAdmin, requireAdminPage, safeNextPath } from '@/app/_admin/auth/admin-auth';
import {
  createSessionCookie,
  SECURE_SESSION_COOKIE,
  serializeSessionCookie,
  SESSION_COOKIE,
  SESSION_TTL_SECONDS,
  sessionCookieFrom,
  verifySessionCookie,
  type SessionCredentials,
} from '@/app/_admin/auth/admin-session';
import { ADMIN_DISABLED, attemptLogin, WRONG_CREDENTIALS } from '@/app/_admin/auth/login-attempt';
import { LOGIN_FAILURES_PER_MINUTE, LoginThrottle } from '@/app/_admin/auth/login-throttle';
import { adminSessions, AdminSessionStore, openSession } from '@/app/_admin/auth/session-store';
import { POST as logout } from '@/app/admin/logout/route';
import { config, loadConfig } from '@/lib/config';
import { createProducerConnection, unlinkMatching } from '@/lib/valkey';
import { adminGate } from '@/proxy';

// requireAdminPage reads the request's cookies through next/headers, which only works inside a
// Next request; this stands in for the cookie jar.
const cookieJar = vi.hoisted(() => ({ value: undefined as string | undefined }));
vi.mock('next/headers', () => ({
  cookies: async () => ({ get: (name: string) => (name === 'signup_admin' && cookieJar.value ? { name, value: cookieJar.value } : undefined) }),
  headers: async () => new Headers(),
}));

const ADMIN = { user: 'admin', password: 'correct horse battery staple', sessionSecret: 'admin-login-test-session-secret-0123456789' };
const NOW = Date.parse('2026-12-01T09:00:00Z');
/** Served over plain http, as `npm start` serves it. */
const APP_URL = 'http://app.test';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function sessionCookie(admin: SessionCredentials = ADMIN, now = NOW): string {
  const created = createSessionCookie(admin, now);
  if (!created) throw new Error('no session without a password');
  return created.value;
}

// Live sessions on the real Valkey, under a prefix of this file's own.
const valkey = createProducerConnection(loadConfig().valkey);
const prefix = `test-${randomUUID()}`;
const sessions = new AdminSessionStore(valkey, prefix);
afterAll(async () => {
  await unlinkMatching(valkey, `${prefix}:*`);
  valkey.disconnect();
});

/** A cookie the login form would set: signed, and live in `store`. */
async function liveCookie(admin: SessionCredentials = ADMIN, store = sessions, now = NOW): Promise<string> {
  const opened = await openSession(admin, store, now);
  if (!opened) throw new Error('no session without a password');
  return opened.value;
}

function request(
  method: string,
  path: string,
  { cookie, auth, origin, fetchSite, forwardedFor = '203.0.113.7' }: {
    cookie?: string;
    auth?: string;
    origin?: string;
    fetchSite?: string;
    forwardedFor?: string;
  } = {},
): Request {
  const headers = new Headers({ host: 'app.test', 'x-forwarded-for': forwardedFor });
  if (cookie !== undefined) headers.set('cookie', `theme=dark; ${SESSION_COOKIE}=${cookie}`);
  if (auth) headers.set('authorization', auth);
  if (origin) headers.set('origin', origin);
  if (fetchSite) headers.set('sec-fetch-site', fetchSite);
  return new Request(`http://app.test${path}`, { method, headers });
}

function loginForm(fields: Record<string, string>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return form;
}

const formHeaders = (address = '198.51.100.1', proto = 'http') =>
  new Headers({ 'x-forwarded-for': address, 'x-forwarded-proto': proto });

describe('the admin session cookie', () => {
  it('names the admin and a random session, and expires 8 hours after it was issued', () => {
    const session = verifySessionCookie(sessionCookie(), ADMIN, NOW + 1_000);
    expect(session).toEqual({ sid: expect.stringMatching(/^[\w-]{22}$/), user: 'admin', iat: NOW / 1_000, exp: NOW / 1_000 + SESSION_TTL_SECONDS });
    expect(verifySessionCookie(sessionCookie(), ADMIN, NOW)?.sid).not.toBe(session?.sid);
    expect(SESSION_TTL_SECONDS).toBe(8 * 60 * 60);
  });

  it('is refused once it has expired', () => {
    const value = sessionCookie();
    expect(verifySessionCookie(value, ADMIN, NOW + SESSION_TTL_SECONDS * 1_000 - 1_000)).toBeDefined();
    expect(verifySessionCookie(value, ADMIN, NOW + SESSION_TTL_SECONDS * 1_000)).toBeUndefined();
  });

  it('is refused when its payload or its signature was changed', () => {
    const [payload = '', signature = ''] = sessionCookie().split('.');
    const stretched = Buffer.from(
      JSON.stringify({ user: 'admin', iat: NOW / 1_000, exp: NOW / 1_000 + 365 * 24 * 3_600 }),
    ).toString('base64url');
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'AB' : 'AA'}`;
    for (const forged of [`${stretched}.${signature}`, `${payload}.${flipped}`, `${payload}.`, payload, `${payload}.${signature}.x`, '']) {
      expect(verifySessionCookie(forged, ADMIN, NOW), forged).toBeUndefined();
    }
  });

  it('is refused after the password changes, and never issued without one', () => {
    const value = sessionCookie();
    expect(verifySessionCookie(value, { ...ADMIN, password: 'a new password' }, NOW)).toBeUndefined();
    expect(verifySessionCookie(value, { user: 'admin' }, NOW)).toBeUndefined();
    expect(createSessionCookie({ user: 'admin' }, NOW)).toBeUndefined();
  });
});

describe('the login form', () => {
  it('signs in with the right user and password, with an HttpOnly SameSite=Strict cookie', async () => {
    const outcome = await attemptLogin(
      loginForm({ user: 'admin', password: ADMIN.password, next: '/admin/queues?state=failed' }),
      formHeaders(),
      { admin: ADMIN, throttle: new LoginThrottle(), sessions, now: NOW, appUrl: APP_URL },
    );
    if (!outcome.ok) throw new Error(`refused: ${outcome.state.error}`);
    expect(outcome.redirectTo).toBe('/admin/queues?state=failed');
    expect(outcome.cookie.options).toEqual({
      name: SESSION_COOKIE,
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      secure: false,
      maxAge: SESSION_TTL_SECONDS,
    });
    expect(verifySessionCookie(outcome.cookie.value, ADMIN, NOW)?.user).toBe('admin');
  });

  it('names the cookie __Host- and marks it Secure when the app is served over https', async () => {
    const outcome = await attemptLogin(loginForm({ user: 'admin', password: ADMIN.password }), formHeaders(), {
      admin: ADMIN,
      throttle: new LoginThrottle(),
      sessions,
      now: NOW,
      appUrl: 'https://signup.example',
    });
    if (!outcome.ok) throw new Error(`refused: ${outcome.state.error}`);
    expect(outcome.cookie.options).toMatchObject({ name: SECURE_SESSION_COOKIE, secure: true, path: '/' });
    expect(serializeSessionCookie(outcome.cookie.value, outcome.cookie.options)).toMatch(/^__Host-signup_admin=[^;]+; Path=\/; .*; Secure$/);
  });

  it('takes https from APP_URL, not from a header any client can send', async () => {
    for (const [proto, appUrl, secure] of [['https', APP_URL, false], ['http', 'https://signup.example', true]] as const) {
      const outcome = await attemptLogin(loginForm({ user: 'admin', password: ADMIN.password }), formHeaders(undefined, proto), {
        admin: ADMIN,
        throttle: new LoginThrottle(),
        sessions,
        now: NOW,
        appUrl,
      });
      expect(outcome.ok && outcome.cookie.options.secure, `X-Forwarded-Proto ${proto}, APP_URL ${appUrl}`).toBe(secure);
    }
  });

  it('reads the __Host- cookie first', () => {
    const secure = sessionCookie();
    const headers = new Headers({ cookie: `${SESSION_COOKIE}=stale; ${SECURE_SESSION_COOKIE}=${secure}` });
    expect(sessionCookieFrom(headers)).toBe(secure);
    expect(sessionCookieFrom(new Headers({ cookie: `${SESSION_COOKIE}=${secure}` }))).toBe(secure);
  });

  it.each<[string, Record<string, string>]>([
    ['a wrong password', { user: 'admin', password: 'guess' }],
    ['a wrong user', { user: 'root', password: ADMIN.password }],
    ['nothing', {}],
  ])('refuses %s with the same message, keeping the user name and not the password', async (_label, fields) => {
    const outcome = await attemptLogin(loginForm(fields), formHeaders(), { admin: ADMIN, throttle: new LoginThrottle(), sessions, now: NOW, appUrl: APP_URL });
    expect(outcome).toEqual({ ok: false, state: { user: fields.user ?? '', next: '/admin', error: WRONG_CREDENTIALS } });
  });

  it('says the admin area is disabled when no password is configured', async () => {
    const outcome = await attemptLogin(loginForm({ user: 'admin', password: '' }), formHeaders(), {
      admin: { user: 'admin' },
      throttle: new LoginThrottle(),
      sessions,
      now: NOW,
      appUrl: APP_URL,
    });
    expect(outcome.ok ? undefined : outcome.state.error).toBe(ADMIN_DISABLED);
  });

  it(`refuses every attempt from an address after ${LOGIN_FAILURES_PER_MINUTE} wrong ones in a minute, even the right one`, async () => {
    const throttle = new LoginThrottle();
    const deps = (now: number) => ({ admin: ADMIN, throttle, sessions, now, appUrl: APP_URL });
    const wrong = loginForm({ user: 'admin', password: 'guess' });
    const right = loginForm({ user: 'admin', password: ADMIN.password });

    for (let attempt = 0; attempt < LOGIN_FAILURES_PER_MINUTE; attempt += 1) {
      const outcome = await attemptLogin(wrong, formHeaders(), deps(NOW + attempt * 1_000));
      expect(outcome.ok ? undefined : outcome.state.error).toBe(WRONG_CREDENTIALS);
    }
    const limited = await attemptLogin(right, formHeaders(), deps(NOW + 10_000));
    // Five at once, then one every 12 s: the next opens 12 s after the first wrong one.
    expect(limited.ok ? undefined : limited.state.error).toBe('Too many attempts; try again in 2 s.');

    expect((await attemptLogin(right, formHeaders('198.51.100.2'), deps(NOW + 10_000))).ok).toBe(true);
    expect((await attemptLogin(right, formHeaders(), deps(NOW + 60_001))).ok).toBe(true);
  });

  it.each([
    '//evil.example/admin',
    '/\\evil.example',
    'https://evil.example/admin',
    'javascript:alert(1)',
    ' /admin',
    '/admin@evil.example',
    '/administrator',
    '/signup',
    '/admin/../signup',
    '/%2F%2Fevil.example',
    '/admin/login',
    '/admin/logout',
    '/admin\t/x',
  ])('never sends the browser to %j after signing in', async (next) => {
    expect(safeNextPath(next)).toBe('/admin');
    const outcome = await attemptLogin(loginForm({ user: 'admin', password: ADMIN.password, next }), formHeaders(), {
      admin: ADMIN,
      throttle: new LoginThrottle(),
      sessions,
      now: NOW,
      appUrl: APP_URL,
    });
    expect(outcome.ok && outcome.redirectTo).toBe('/admin');
  });

  it('keeps an admin path with its query', () => {
    expect(safeNextPath('/admin')).toBe('/admin');
    expect(safeNextPath('/admin/queues/crm?state=failed')).toBe('/admin/queues/crm?state=failed');
  });
});

describe('authenticateAdmin', () => {
  const judged = () => ({ now: NOW, throttle: new LoginThrottle(), sessions });

  describe('with a session cookie', () => {
    it('lets reads through', async () => {
      expect(await authenticateAdmin(request('GET', '/api/admin/dlq', { cookie: await liveCookie() }), ADMIN, judged())).toEqual({ user: 'admin' });
    });

    it.each([
      ['no Origin at all', {}],
      ['another site as Origin', { origin: 'https://evil.example' }],
      ['a look-alike Origin', { origin: 'http://app.test.evil.example' }],
      ['Sec-Fetch-Site: cross-site', { fetchSite: 'cross-site' }],
      ['Sec-Fetch-Site: same-site (a sibling subdomain)', { fetchSite: 'same-site', origin: 'http://app.test' }],
    ])('refuses a write with %s', async (_label, headers) => {
      const response = await authenticateAdmin(request('POST', '/api/admin/dlq/replay', { cookie: await liveCookie(), ...headers }), ADMIN, judged());
      expect(response instanceof Response && response.status).toBe(403);
    });

    it('accepts a write that proves it comes from this site', async () => {
      for (const headers of [{ origin: 'http://app.test' }, { fetchSite: 'same-origin' }]) {
        expect(await authenticateAdmin(request('DELETE', '/api/admin/dlq/1', { cookie: await liveCookie(), ...headers }), ADMIN, judged())).toEqual({
          user: 'admin',
        });
      }
    });

    it('refuses an expired or forged cookie with 401', async () => {
      for (const cookie of [sessionCookie(ADMIN, NOW - SESSION_TTL_SECONDS * 1_000), sessionCookie({ ...ADMIN, password: 'other' })]) {
        const response = await authenticateAdmin(request('GET', '/api/admin/dlq', { cookie }), ADMIN, judged());
        expect(response instanceof Response && response.status).toBe(401);
      }
    });
  });

  describe('with HTTP Basic', () => {
    it('still accepts a script that sends no Origin', async () => {
      expect(await authenticateAdmin(request('POST', '/api/admin/dlq/replay', { auth: basic('admin', ADMIN.password) }), ADMIN, judged())).toEqual({
        user: 'admin',
      });
    });

    it(`refuses an address after ${LOGIN_FAILURES_PER_MINUTE} wrong ones in a minute, even with the right ones`, async () => {
      const throttle = new LoginThrottle();
      const at = (seconds: number) => ({ now: NOW + seconds * 1_000, throttle, sessions });
      const status = async (auth: string | undefined, seconds: number, forwardedFor?: string) => {
        const result = await authenticateAdmin(request('GET', '/api/admin/dlq', { auth, forwardedFor }), ADMIN, at(seconds));
        return result instanceof Response ? result.status : 200;
      };
      for (let attempt = 0; attempt < 10; attempt += 1) expect(await status(undefined, 0), 'no credentials do not count').toBe(401);
      for (let attempt = 0; attempt < LOGIN_FAILURES_PER_MINUTE; attempt += 1) expect(await status(basic('admin', 'guess'), attempt)).toBe(401);

      const limited = await authenticateAdmin(request('GET', '/api/admin/dlq', { auth: basic('admin', ADMIN.password) }), ADMIN, at(10));
      expect(limited instanceof Response && limited.status).toBe(429);
      expect(limited instanceof Response && limited.headers.get('retry-after')).toBe('2');
      expect(await authenticateAdmin(request('GET', '/api/admin/dlq', { cookie: await liveCookie() }), ADMIN, at(10)), 'the browser session is unaffected').toEqual({ user: 'admin' });
      expect(await status(basic('admin', ADMIN.password), 10, '203.0.113.8'), 'other addresses are unaffected').toBe(200);
      expect(await status(basic('admin', ADMIN.password), 61)).toBe(200);
    });

    it('does not lump together requests that name no client address', async () => {
      const throttle = new LoginThrottle();
      const headers = new Headers({ host: 'app.test', authorization: basic('admin', 'guess') });
      for (let attempt = 0; attempt < LOGIN_FAILURES_PER_MINUTE + 1; attempt += 1) {
        const result = await authenticateAdmin(new Request('http://app.test/api/admin/dlq', { headers }), ADMIN, { now: NOW, throttle });
        expect(result instanceof Response && result.status).toBe(401);
      }
    });

    it('refuses a browser write from another site', async () => {
      const response = await authenticateAdmin(
        request('POST', '/api/admin/dlq/replay', { auth: basic('admin', ADMIN.password), origin: 'https://evil.example' }),
        ADMIN,
        judged(),
      );
      expect(response instanceof Response && response.status).toBe(403);
    });
  });
});

describe('the proxy gate', () => {
  const deps = () => ({ admin: ADMIN, now: NOW });

  it('sends a stranger on an admin page to the login page, coming back afterwards', () => {
    const response = adminGate(request('GET', '/admin/queues?state=failed&_rsc=abc'), deps());
    expect(response?.status).toBe(307);
    const location = new URL(response?.headers.get('location') ?? '');
    expect(`${location.pathname}${location.search}`).toBe(`/admin/login?next=${encodeURIComponent('/admin/queues?state=failed')}`);
  });

  it('turns a stranger’s POST into a GET of the login page', () => {
    const response = adminGate(request('POST', '/admin/logout'), deps());
    expect(response?.status).toBe(303);
    expect(new URL(response?.headers.get('location') ?? '').pathname).toBe('/admin/login');
  });

  it('answers the API without credentials, or with an expired session, with 401', () => {
    for (const cookie of [undefined, sessionCookie(ADMIN, NOW - SESSION_TTL_SECONDS * 1_000)]) {
      expect(adminGate(request('GET', '/api/admin/dlq', { cookie }), deps())?.status).toBe(401);
    }
  });

  it('lets anyone see the login page, and the admin everything else', () => {
    expect(adminGate(request('GET', '/admin/login?next=/admin/queues'), deps())).toBeUndefined();
    expect(adminGate(request('POST', '/admin/login'), deps())).toBeUndefined();
    expect(adminGate(request('GET', '/admin', { cookie: sessionCookie() }), deps())).toBeUndefined();
    expect(adminGate(request('GET', '/api/admin/queues', { cookie: sessionCookie() }), deps())).toBeUndefined();
  });

  it('passes Basic credentials on the API to the route, which judges and counts them', () => {
    expect(adminGate(request('GET', '/api/admin/queues', { auth: basic('admin', 'guess') }), deps())).toBeUndefined();
  });

  it('does not take Basic credentials for admin pages', () => {
    expect(adminGate(request('GET', '/admin', { auth: basic('admin', ADMIN.password) }), deps())?.status).toBe(307);
  });

  it('refuses a cookie-authenticated write from another site, on pages and the API', () => {
    for (const path of ['/admin/queues/api/queues/crm/retry/failed', '/api/admin/dlq/replay']) {
      expect(adminGate(request('PUT', path, { cookie: sessionCookie(), origin: 'https://evil.example' }), deps())?.status, path).toBe(403);
      expect(adminGate(request('PUT', path, { cookie: sessionCookie() }), deps())?.status, path).toBe(403);
    }
  });
});

describe('POST /admin/logout', () => {
  const admin = config().admin;

  it('clears the cookie and goes to the login page', async () => {
    const response = await logout(request('POST', '/admin/logout', { cookie: await liveCookie(admin, adminSessions(), Date.now()), origin: 'http://app.test' }));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/admin/login');
    expect(response.headers.get('set-cookie')).toBe(`${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`);
  });

  it('refuses another site signing the admin out', async () => {
    const cookie = await liveCookie(admin, adminSessions(), Date.now());
    const response = await logout(request('POST', '/admin/logout', { cookie, origin: 'https://evil.example' }));
    expect(response.status).toBe(403);
    expect(response.headers.get('set-cookie')).toBeNull();
    await logout(request('POST', '/admin/logout', { cookie, origin: 'http://app.test' }));
  });
});

describe('requireAdminPage', () => {
  const admin = config().admin;

  it('redirects a stranger to the login page, coming back afterwards', async () => {
    cookieJar.value = undefined;
    const refusal = await requireAdminPage('/admin/queues').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(redirectTarget(refusal)).toBe(`/admin/login?next=${encodeURIComponent('/admin/queues')}`);
  });

  it('returns the admin for a live session', async () => {
    cookieJar.value = await liveCookie(admin, adminSessions(), Date.now());
    await expect(requireAdminPage('/admin')).resolves.toEqual({ user: admin.user });
    await logout(request('POST', '/admin/logout', { cookie: cookieJar.value, origin: 'http://app.test' }));
  });
});

/** The target of next/navigation's redirect(), which throws an error whose digest carries it. */
function redirectTarget(error: unknown): string | undefined {
  const digest = (error as { digest?: unknown } | undefined)?.digest;
  if (typeof digest !== 'string' || !digest.startsWith('NEXT_REDIRECT;')) return undefined;
  return digest.split(';')[2];
}
