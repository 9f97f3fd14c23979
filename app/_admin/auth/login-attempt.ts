// One submission of the admin login form, as a plain function of the form and the request headers
// (the server action in app/admin/login wires in cookies and the redirect). Refusals come back as
// form state; a wrong user and a wrong password read the same.
import 'server-only';
import { checkCredentials, safeNextPath, type AdminCredentials } from '@/app/_admin/auth/admin-auth';
import { servedOverHttps, sessionCookieOptions, type SessionCookieOptions } from '@/app/_admin/auth/admin-session';
import { adminSessions, openSession, SessionStoreUnavailable, type AdminSessionStore } from '@/app/_admin/auth/session-store';
import type { LoginThrottle } from '@/app/_admin/auth/login-throttle';
import { clientAddress } from '@/lib/client-address';

export const WRONG_CREDENTIALS = 'Wrong user or password.';
export const ADMIN_DISABLED = 'The admin area is disabled: ADMIN_PASSWORD is not set.';
export const SESSIONS_UNAVAILABLE = 'Cannot sign in right now: Valkey, which keeps the admin sessions, is unreachable. Try again in a moment.';

export interface LoginFormState {
  /** The user name typed, echoed back; the password never is. */
  user: string;
  /** Where to go after signing in, already checked by safeNextPath. */
  next: string;
  error?: string;
}

export type LoginOutcome =
  | { ok: true; user: string; cookie: { value: string; options: SessionCookieOptions }; redirectTo: string }
  | { ok: false; state: LoginFormState };

export interface LoginDeps {
  admin: AdminCredentials;
  throttle: LoginThrottle;
  /** APP_URL: an https one makes the cookie Secure and `__Host-`. */
  appUrl: string;
  /** Defaults to this process's store of live sessions (session-store.ts). */
  sessions?: AdminSessionStore;
  now?: number;
}

export async function attemptLogin(form: FormData, headers: Headers, deps: LoginDeps): Promise<LoginOutcome> {
  const now = deps.now ?? Date.now();
  const user = field(form, 'user');
  const password = field(form, 'password');
  const next = safeNextPath(field(form, 'next'));
  const refuse = (error: string): LoginOutcome => ({ ok: false, state: { user, next, error } });

  if (!deps.admin.password) return refuse(ADMIN_DISABLED);

  // Judged before the answer is revealed (login-throttle.ts).
  const checked = checkCredentials({ user, password }, deps.admin);
  const attempt = { client: clientAddress(headers), via: 'form', namesAccount: checked.namesAccount, right: checked.matches } as const;
  const decision = await deps.throttle.judge(attempt, deps.now);
  if (!decision.allowed) return refuse(`Too many attempts; try again in ${decision.retryAfterSeconds} s.`);
  if (!checked.matches) return refuse(WRONG_CREDENTIALS);

  let created;
  try {
    created = await openSession(deps.admin, deps.sessions ?? adminSessions(), now);
  } catch (error) {
    if (!(error instanceof SessionStoreUnavailable)) throw error;
    return refuse(SESSIONS_UNAVAILABLE);
  }
  if (!created) return refuse(ADMIN_DISABLED);
  return {
    ok: true,
    user,
    cookie: { value: created.value, options: sessionCookieOptions(servedOverHttps(deps.appUrl)) },
    redirectTo: next,
  };
}

/** A text field's value; a file or a missing field reads as empty. */
function field(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}
