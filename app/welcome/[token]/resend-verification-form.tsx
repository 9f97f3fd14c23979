'use client';
// "Resend verification email": a real POST form bound to a server action, so it works without
// JavaScript (the page comes back re-rendered with the outcome); with JavaScript the same action
// runs without a reload. The server decides everything, including the once-a-minute limit.
import { useActionState } from 'react';
import { submitResendVerification, type ResendFormState } from '@/app/welcome/[token]/actions';

const INITIAL_STATE: ResendFormState = {};

export function ResendVerificationForm({ token }: { token: string }) {
  const [state, formAction, pending] = useActionState(submitResendVerification, INITIAL_STATE);
  return (
    <form action={formAction} className="resend-form">
      <input type="hidden" name="token" value={token} />
      <button type="submit" className="button button-secondary" disabled={pending} aria-disabled={pending}>
        {pending ? 'Sending…' : 'Resend verification email'}
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
