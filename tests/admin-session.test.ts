// The admin session against the real Valkey, through the real login, logout, proxy gate, admin API
// route and admin page: a logout refuses every copy of the cookie on every replica; a changed
// password refuses every older cookie though its session is still live; a cookie keyed by the
// password (the old scheme) or by another SESSION_SECRET is refused, and so is one tampered with;
// and while Valkey does not answer, no cookie is taken and nobody is signed in.
import { createHmac, randomUUID, scryptSync } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { authenticateAdmin, type AdminCredentials } from '@/app/_admin/auth/admin-auth';
import { createSessionCookie, SESSION_COOKIE, type AdminSession } from '@/app/_admin/auth/admin-session';
import { attemptLogin, SESSIONS_UNAVAILABLE } from '@/app/_admin/auth/login-attempt';
import { LoginThrottle } from '@/app/_admin/auth/login-throttle';
import { adminSessions, AdminSessionStore, liveSession } from '@/app/_admin/auth/session-store';
import AdminHealthPage from '@/app/admin/(console)/page';
import { POST as logout } from '@/app/admin/logout/route';
import { GET as queuesApi } from '@/app/api/admin/queues/route';
import { config, loadConfig } from '@/lib/config';
import { createProducerConnection, unlinkMatching } from '@/lib/valkey';
import { adminGate } from '@/proxy';

// The page reads the request's cookies through next/headers, which only works inside a Next
// request; this stands in for the cookie jar.
const cookieJar = vi.hoisted(() => ({ value: undefined as string | undefined }));
vi.mock('next/headers', () => ({
  cookies: async () => ({ get: (name: string) => (name === 'signup_admin' && cookieJar.value ? { name, value: cookieJar.value } : undefined) }),
  headers: async () => new Headers(),
}));

/** What the routes and the page read: this process's configuration and its store of live sessions. */
const admin = config().admin;
const APP_URL = 'http://app.test';

// A second web replica: its own connection to the same Valkey and prefix.
const replicaConnection = createProducerConnection(config().valkey);
const replica = new AdminSessionStore(replicaConnection, config().queuePrefix);

// Sessions of the tests that judge credentials other than this process's, under a prefix of their own.
const ownConnection = createProducerConnection(loadConfig().valkey);
const ownPrefix = `test-${randomUUID()}`;
const sessions = new AdminSessionStore(ownConnection, ownPrefix);

afterAll(async () => {
  await unlinkMatching(ownConnection, `${ownPrefix}:*`);
  ownConnection.disconnect();
  replicaConnection.disconnect();
});

function request(method: string, path: string, cookie?: string): Request {
  const headers = new Headers({ host: 'app.test', origin: APP_URL, 'x-forwarded-for': '192.0.2.10' });
  if (cookie !== undefined) headers.set('cookie', `${SESSION_COOKIE}=${cookie}`);
  return new Request(`${APP_URL}${path}`, { method, headers });
}

/** Signs in through the login form, as the server action does; the cookie it would set. */
async function logIn(credentials: AdminCredentials = admin, store?: AdminSessionStore): Promise<string> {
  const form = new FormData();
  form.set('user', credentials.user);
  form.set('password', credentials.password ?? '');
  const outcome = await attemptLogin(form, new Headers({ 'x-forwarded-for': '192.0.2.10' }), {
    admin: credentials,
    throttle: new LoginThrottle(),
    appUrl: APP_URL,
    sessions: store,
  });
  if (!outcome.ok) throw new Error(`login refused: ${outcome.state.error}`);
  return outcome.cookie.value;
}

/** GET /api/admin/queues with `cookie`: 200 with the queue report, or the refusal's status. */
async function apiStatus(cookie: string): Promise<number> {
  return (await queuesApi(request('GET', '/api/admin/queues', cookie))).status;
}

/** What the admin page does with `cookie`: shows itself, or names where it redirects. */
async function page(cookie: string): Promise<string> {
  cookieJar.value = cookie;
  try {
    await AdminHealthPage();
    return 'shown';
  } catch (error) {
    const digest = (error as { digest?: unknown }).digest;
    if (typeof digest === 'string' && digest.startsWith('NEXT_REDIRECT;')) return `redirect to ${digest.split(';')[2]}`;
    throw error;
  } finally {
    cookieJar.value = undefined;
  }
}

/** A session made live in this process's store, and a cookie that carries it correctly. */
async function liveSessionCookie(): Promise<{ session: AdminSession; value: string }> {
  const created = createSessionCookie(admin);
  if (!created) throw new Error('no session without a password and a secret');
  await adminSessions().add(created.session);
  return created;
}

function signed(payload: object, key: Buffer | string): string {
  const encoded = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${encoded}.${createHmac('sha256', key).update(encoded).digest('base64url')}`;
}

/** The key the old scheme derived from the credentials alone: scrypt of the password. */
function passwordDerivedKey(credentials: AdminCredentials): Buffer {
  return scryptSync(credentials.password ?? '', `signup-admin-session-v1:${credentials.user}`, 32, { N: 2 ** 14, r: 8, p: 1 });
}

const TO_LOGIN = 'redirect to /admin/login';

describe('the admin session', () => {
  describe('after logout', () => {
    it('refuses the old cookie, replayed, on the admin API and the admin page, on every replica', async () => {
      const cookie = await logIn();
      expect(await apiStatus(cookie), 'signed in').toBe(200);
      expect(await page(cookie)).toBe('shown');
      expect(await liveSession(cookie, admin, replica), 'another replica takes it').toBeDefined();

      const out = await logout(request('POST', '/admin/logout', cookie));
      expect(out.status).toBe(303);
      expect(out.headers.get('set-cookie')).toMatch(new RegExp(`^${SESSION_COOKIE}=; .*Max-Age=0`));

      expect(await apiStatus(cookie), 'the copy replayed after logout').toBe(401);
      expect(await page(cookie)).toBe(TO_LOGIN);
      expect(await liveSession(cookie, admin, replica), 'another replica refuses it too').toBeUndefined();
    });

    it('leaves the admin’s other sessions alone', async () => {
      const [ended, other] = [await logIn(), await logIn()];
      await logout(request('POST', '/admin/logout', ended));
      expect(await apiStatus(ended)).toBe(401);
      expect(await apiStatus(other)).toBe(200);
      await logout(request('POST', '/admin/logout', other));
    });
  });

  describe('after the password changes', () => {
    const before = loadConfig({ ...process.env, ADMIN_PASSWORD: 'password A, the one it was issued under' }).admin;
    const after = loadConfig({ ...process.env, ADMIN_PASSWORD: 'password B, set since and the process restarted' }).admin;

    it('refuses a cookie issued under the old password, though its session is still live', async () => {
      const cookie = await logIn(before, sessions);
      expect(await liveSession(cookie, before, sessions), 'live under A').toBeDefined();
      expect(await authenticateAdmin(request('GET', '/api/admin/queues', cookie), before, { sessions })).toEqual({ user: before.user });

      const refused = await authenticateAdmin(request('GET', '/api/admin/queues', cookie), after, { sessions });
      expect(refused instanceof Response && refused.status).toBe(401);
      expect(adminGate(request('GET', '/api/admin/queues', cookie), { admin: after })?.status, 'the proxy refuses it as well').toBe(401);
      expect(adminGate(request('GET', '/admin', cookie), { admin: after })?.status).toBe(307);
    });
  });

  describe('signed by another key', () => {
    it('refuses a cookie keyed by the password, the old scheme, even for a live session', async () => {
      const { session, value } = await liveSessionCookie();
      try {
        expect(await apiStatus(value), 'the same session, signed right').toBe(200);
        const { sid: _sid, ...withoutId } = session;
        for (const forged of [
          signed(session, passwordDerivedKey(admin)),
          signed(withoutId, passwordDerivedKey(admin)),
          signed(session, admin.password ?? ''),
        ]) {
          expect(await apiStatus(forged), forged).toBe(401);
          expect(await page(forged), forged).toBe(TO_LOGIN);
          expect(adminGate(request('GET', '/api/admin/queues', forged), { admin })?.status, forged).toBe(401);
        }
      } finally {
        await adminSessions().remove(session);
      }
    });

    it('refuses a cookie signed under another SESSION_SECRET, even for a live session', async () => {
      const other = createSessionCookie({ ...admin, sessionSecret: 'another-session-secret-of-32-characters' });
      if (!other) throw new Error('no session without a password and a secret');
      await adminSessions().add(other.session);
      try {
        expect(await apiStatus(other.value)).toBe(401);
        expect(await page(other.value)).toBe(TO_LOGIN);
        expect(adminGate(request('GET', '/api/admin/queues', other.value), { admin })?.status).toBe(401);
      } finally {
        await adminSessions().remove(other.session);
      }
    });
  });

  describe('tampered with', () => {
    it('refuses every change to a live cookie, and a made-up one', async () => {
      const { session, value } = await liveSessionCookie();
      const another = await liveSessionCookie();
      try {
        expect(await apiStatus(value), 'unchanged').toBe(200);
        const [payload = '', signature = ''] = value.split('.');
        const changed = (fields: Partial<AdminSession>) =>
          `${Buffer.from(JSON.stringify({ ...session, ...fields })).toString('base64url')}.${signature}`;
        const forgeries = {
          'a lifetime stretched by a year': changed({ exp: session.exp + 365 * 24 * 3_600 }),
          'another user': changed({ user: `${admin.user}-other` }),
          "another live session's id": changed({ sid: another.session.sid }),
          'a flipped signature': `${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'AB' : 'AA'}`,
          'no signature': payload,
          'a made-up value': `${randomUUID()}.${randomUUID()}`,
        };
        for (const [what, forged] of Object.entries(forgeries)) {
          expect(await apiStatus(forged), what).toBe(401);
          expect(await page(forged), what).toBe(TO_LOGIN);
        }
      } finally {
        await adminSessions().remove(session);
        await adminSessions().remove(another.session);
      }
    });
  });

  describe('when Valkey does not answer', () => {
    it('takes no cookie (503), signs nobody in, and still refuses a forged cookie without asking', async () => {
      // Port 1: nothing listens there, so every connection is refused.
      const deadConnection = createProducerConnection('redis://127.0.0.1:1');
      const dead = new AdminSessionStore(deadConnection, ownPrefix);
      try {
        const cookie = await logIn(admin, sessions);
        const unanswered = await authenticateAdmin(request('GET', '/api/admin/queues', cookie), admin, { sessions: dead });
        expect(unanswered instanceof Response && unanswered.status).toBe(503);

        const forged = await authenticateAdmin(request('GET', '/api/admin/queues', `${cookie}x`), admin, { sessions: dead });
        expect(forged instanceof Response && forged.status).toBe(401);

        const form = new FormData();
        form.set('user', admin.user);
        form.set('password', admin.password ?? '');
        const login = await attemptLogin(form, new Headers(), { admin, throttle: new LoginThrottle(), appUrl: APP_URL, sessions: dead });
        expect(login.ok ? 'signed in' : login.state.error).toBe(SESSIONS_UNAVAILABLE);
      } finally {
        deadConnection.disconnect();
      }
    });
  });
});
