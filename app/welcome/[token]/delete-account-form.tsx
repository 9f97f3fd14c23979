'use client';
// "Delete my account", with its confirmation in the same form: the button deletes only together
// with the ticked "I understand" box. The browser enforces the box (`required`) and the server
// action checks it again, so neither JavaScript nor a hand-made POST can skip the step.
import { useActionState } from 'react';
import { submitDeleteAccount, type DeleteFormState } from '@/app/welcome/[token]/actions';

const INITIAL_STATE: DeleteFormState = {};

export function DeleteAccountForm({ token }: { token: string }) {
  const [state, formAction, pending] = useActionState(submitDeleteAccount, INITIAL_STATE);
  return (
    <form action={formAction} className="delete-form">
      <input type="hidden" name="token" value={token} />
      {state.error && (
        <p className="form-error" role="alert" data-testid="delete-error">
          {state.error}
        </p>
      )}
      <label className="confirm-field">
        <input type="checkbox" name="confirm" value="yes" required />
        <span>
          I understand that this deletes my account and everything saved with it, here and at our providers, and cannot
          be undone.
        </span>
      </label>
      <button type="submit" className="button button-danger" disabled={pending} aria-disabled={pending}>
        {pending ? 'Deleting…' : 'Delete my account'}
      </button>
    </form>
  );
}
