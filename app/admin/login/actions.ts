'use server';
// The admin login form's server action: the checks live in attemptLogin (app/_admin/auth/login-attempt.ts);
// this wires in the request's headers, sets the session cookie and leaves for the admin page.
// Next refuses server actions whose Origin does not match the host, so a cross-site page cannot
// post this form.
import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { attemptLogin, type LoginFormState } from '@/app/_admin/auth/login-attempt';
import { loginThrottle } from '@/app/_admin/auth/login-throttle';
import { config } from '@/lib/config';
import { createLogger } from '@/lib/log';

const log = createLogger('web');

export async function logIn(_previous: LoginFormState, formData: FormData): Promise<LoginFormState> {
  const outcome = await attemptLogin(formData, await headers(), { admin: config().admin, throttle: loginThrottle(), appUrl: config().appUrl });
  if (!outcome.ok) {
    log.warn('admin login refused', { reason: outcome.state.error });
    return outcome.state;
  }
  const { name, ...options } = outcome.cookie.options;
  (await cookies()).set(name, outcome.cookie.value, options);
  log.info('admin logged in', { user: outcome.user });
  // redirect() throws to unwind the action, so it stays outside any try/catch.
  redirect(outcome.redirectTo);
}
