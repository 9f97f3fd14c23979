// One submission of the admin login form, as a plain function of the form and the request headers
// (the server action in app/admin/login wires in cookies and the redirect). Refusals come back as
// form state; a wrong user and a wrong password read the same.
import 'server-only';
import { credentialsMatch, safeNextPath, type AdminCredentials } from '@/app/_admin/auth/admin-auth';
import { createSessionCookie, servedOverHttps, sessionCookieOptions, type SessionCookieOptions } from '@/app/_admin/auth/admin-session';
import type { LoginThrottle } from '@/app/_admin/auth/login-throttle';
import { clientAddress } from '@/app/_signup/rate-limiter';

export const WRONG_CREDENTIALS = 'Wrong user or password.';
export const ADMIN_DISABLED = 'The admin area is disabled: ADMIN_PASSWORD is not set.';

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
  now?: number;
}

export function attemptLogin(form: FormData, headers: Headers, deps: LoginDeps): LoginOutcome {
  const now = deps.now ?? Date.now();
  const user = field(form, 'user');
  const password = field(form, 'password');
  const next = safeNextPath(field(form, 'next'));
  const refuse = (error: string): LoginOutcome => ({ ok: false, state: { user, next, error } });

  if (!deps.admin.password) return refuse(ADMIN_DISABLED);

  const client = clientAddress(headers);
  const decision = deps.throttle.check(client, now);
  if (!decision.allowed) {
    return refuse(`Too many attempts from this address; try again in ${decision.retryAfterSeconds} s.`);
  }
  if (!credentialsMatch({ user, password }, deps.admin)) {
    deps.throttle.recordFailure(client, now);
    return refuse(WRONG_CREDENTIALS);
  }

  const created = createSessionCookie(deps.admin, now);
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
