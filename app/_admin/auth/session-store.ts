// Which admin sessions are live: one Valkey key per session, `<QUEUE_PREFIX>:admin-session:<sid>`
// holding its user, written at login with the session's lifetime and deleted at logout. Every web
// replica asks the same Valkey, so a logout refuses every copy of the cookie at once; and a Valkey
// that loses its data logs people out rather than bringing logged-out cookies back.
//
// Fail closed: when Valkey does not answer within 500 ms, no cookie is taken (the APIs answer 503,
// pages go to the login form, which says why). The admin area reads its queues from Valkey, so it
// has little to show without it, and a cache of recent answers would keep a logged-out cookie
// working on the other replicas for as long as an entry lasted.
import 'server-only';
import { once } from 'node:events';
import { createSessionCookie, verifySessionCookie, type AdminSession, type SessionCredentials } from '@/app/_admin/auth/admin-session';
import { config } from '@/lib/config';
import { createProducerConnection, type Valkey } from '@/lib/valkey';

/**
 * How long a check waits for a connection that is still (re)connecting: the producer connection's
 * own command timeout, so a dead Valkey costs an admin request half a second at most.
 */
const READY_TIMEOUT_MS = 500;

export class SessionStoreUnavailable extends Error {
  override name = 'SessionStoreUnavailable';
}

export class AdminSessionStore {
  constructor(
    private readonly valkey: Valkey,
    private readonly prefix: string,
  ) {}

  /** Records `session` as live until it expires. */
  async add(session: AdminSession, now = Date.now()): Promise<void> {
    const seconds = Math.max(1, session.exp - Math.floor(now / 1_000));
    await this.run(() => this.valkey.set(this.key(session), session.user, 'EX', seconds));
  }

  async isLive(session: AdminSession): Promise<boolean> {
    return (await this.run(() => this.valkey.get(this.key(session)))) === session.user;
  }

  /** Ends `session` for every copy of its cookie; ending an ended one is a no-op. */
  async remove(session: AdminSession): Promise<void> {
    await this.run(() => this.valkey.del(this.key(session)));
  }

  private key(session: AdminSession): string {
    return `${this.prefix}:admin-session:${session.sid}`;
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      // A fail-fast connection refuses commands while it connects; a fresh process's first admin
      // request waits for it instead of being refused.
      if (this.valkey.status !== 'ready') await once(this.valkey, 'ready', { signal: AbortSignal.timeout(READY_TIMEOUT_MS) });
      return await command();
    } catch (error) {
      throw new SessionStoreUnavailable('Valkey, which keeps the admin sessions, did not answer', { cause: error });
    }
  }
}

/** A fresh session recorded as live: the login's cookie. Undefined when no password or secret is configured. */
export async function openSession(
  admin: SessionCredentials,
  sessions: AdminSessionStore,
  now = Date.now(),
): Promise<{ value: string; session: AdminSession } | undefined> {
  const created = createSessionCookie(admin, now);
  if (created) await sessions.add(created.session, now);
  return created;
}

/**
 * The session a cookie carries if it is signed under the current credentials and secret, unexpired,
 * and not ended. Throws SessionStoreUnavailable when Valkey cannot say; a forged cookie never
 * reaches Valkey.
 */
export async function liveSession(
  value: string | undefined,
  admin: SessionCredentials,
  sessions: AdminSessionStore,
  now = Date.now(),
): Promise<AdminSession | undefined> {
  const session = verifySessionCookie(value, admin, now);
  if (!session) return undefined;
  return (await sessions.isLive(session)) ? session : undefined;
}

// One per process, on globalThis so that the login action, the pages and the route handlers
// (bundled apart) and Next's dev reloads share it. Its own fail-fast connection, not the web
// runtime's: this module is reached from proxy.ts through admin-auth.ts, and the proxy's bundle
// should not carry the database and the queues. The web runtime's connection already logs outages.
const holder = globalThis as typeof globalThis & { __signupAdminSessions?: AdminSessionStore };

/** This process's store, over the configured Valkey and QUEUE_PREFIX. */
export function adminSessions(): AdminSessionStore {
  if (!holder.__signupAdminSessions) {
    const settings = config();
    holder.__signupAdminSessions = new AdminSessionStore(createProducerConnection(settings.valkey), settings.queuePrefix);
  }
  return holder.__signupAdminSessions;
}
