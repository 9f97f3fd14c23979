'use client';
// The admin login form. It posts to a server action, so it works without JavaScript; with it, the
// same action runs without a reload. A refusal keeps the user name and clears the password.
import { useActionState, useEffect, useRef } from 'react';
import { logIn } from '@/app/admin/login/actions';

export function LoginForm({ next }: { next: string }) {
  const [state, formAction, pending] = useActionState(logIn, { user: '', next });
  const passwordRef = useRef<HTMLInputElement>(null);

  // After a refusal, the password is what to type again.
  useEffect(() => {
    if (state.error) passwordRef.current?.focus();
  }, [state]);

  return (
    <form action={formAction} className="signup-form">
      {state.error && (
        <p className="form-error" role="alert" id="login-error">
          {state.error}
        </p>
      )}
      <input type="hidden" name="next" value={state.next} />

      <div className={state.error ? 'field field-invalid' : 'field'}>
        <label htmlFor="login-user">User</label>
        <input
          id="login-user"
          name="user"
          type="text"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          maxLength={200}
          defaultValue={state.user}
          aria-invalid={state.error ? true : undefined}
          aria-describedby={state.error ? 'login-error' : undefined}
        />
      </div>

      <div className={state.error ? 'field field-invalid' : 'field'}>
        <label htmlFor="login-password">Password</label>
        <input
          ref={passwordRef}
          id="login-password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          maxLength={1_000}
          aria-invalid={state.error ? true : undefined}
          aria-describedby={state.error ? 'login-error' : undefined}
        />
      </div>

      <button type="submit" className="button" disabled={pending} aria-disabled={pending}>
        {pending ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
