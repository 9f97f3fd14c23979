'use client';
// "Resend verification email", and "Email me a new link" on a status page whose link has expired:
// a real POST form bound to a server action, so it works without JavaScript (the page comes back
// re-rendered with the outcome); with JavaScript the same action runs without a reload. The server
// decides everything, including which of the two it is and the growing waits between presses.
import { useActionState } from 'react';
import { submitResendVerification, type ResendFormState } from '@/app/welcome/[token]/actions';

const INITIAL_STATE: ResendFormState = {};

export function ResendVerificationForm({ token, label = 'Resend verification email' }: { token: string; label?: string }) {
  const [state, formAction, pending] = useActionState(submitResendVerification, INITIAL_STATE);
  return (
    <form action={formAction} className="resend-form">
      <input type="hidden" name="token" value={token} />
      <button type="submit" className="button button-secondary" disabled={pending} aria-disabled={pending}>
        {pending ? 'Sending…' : label}
      </button>
      {state.message && (
        <p
          className={state.outcome === 'sent' ? 'form-note form-note-success' : 'form-note'}
          role="status"
          data-testid="resend-result"
          data-outcome={state.outcome}
        >
          {state.message}
        </p>
      )}
    </form>
  );
}
