'use client';
// The bulk invite form. It posts to a server action, so it works without JavaScript; with it, the
// same action runs without a reload. A refusal keeps what was typed and lists the addresses to fix;
// a success keeps the workspace for the next list.
import { useActionState, useEffect, useRef } from 'react';
import { inviteMembersAction } from '@/app/_workspaces/invite-actions';
import type { InviteFormState } from '@/app/_workspaces/invite-form';

const INITIAL_STATE: InviteFormState = { values: { workspace: '', emails: '' }, errors: {}, invalid: [], invalidCount: 0 };

export function InviteForm() {
  const [state, formAction, pending] = useActionState(inviteMembersAction, INITIAL_STATE);
  const formRef = useRef<HTMLFormElement>(null);

  // After a refused submit, put the keyboard where the first problem is.
  useEffect(() => {
    if (state === INITIAL_STATE) return;
    formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [state]);

  const workspaceError = state.errors.workspace;
  const emailsError = state.errors.emails;
  return (
    <form ref={formRef} action={formAction} className="signup-form invite-form" noValidate>
      {state.formError && (
        <p className="form-error" role="alert">
          {state.formError}
        </p>
      )}
      {state.message && (
        <p className="invite-result" role="status" data-testid="invite-result">
          {state.message}
        </p>
      )}

      <div className={workspaceError ? 'field field-invalid' : 'field'}>
        <label htmlFor="invite-workspace">Workspace</label>
        <input
          id="invite-workspace"
          name="workspace"
          type="text"
          autoCapitalize="none"
          spellCheck={false}
          maxLength={48}
          required
          defaultValue={state.values.workspace}
          aria-invalid={workspaceError ? true : undefined}
          aria-describedby={workspaceError ? 'invite-workspace-error' : 'invite-workspace-hint'}
        />
        {workspaceError ? (
          <p id="invite-workspace-error" className="field-error" role="alert">
            {workspaceError}
          </p>
        ) : (
          <p id="invite-workspace-hint" className="field-hint">
            The workspace slug, for example acme-inc.
          </p>
        )}
      </div>

      <div className={emailsError ? 'field field-invalid' : 'field'}>
        <label htmlFor="invite-emails">Email addresses</label>
        <textarea
          id="invite-emails"
          name="emails"
          rows={12}
          autoCapitalize="none"
          spellCheck={false}
          required
          defaultValue={state.values.emails}
          aria-invalid={emailsError ? true : undefined}
          aria-describedby={emailsError ? 'invite-emails-error' : 'invite-emails-hint'}
        />
        {emailsError ? (
          <p id="invite-emails-error" className="field-error" role="alert">
            {emailsError}
          </p>
        ) : (
          <p id="invite-emails-hint" className="field-hint">
            One per line, or separated by commas; up to 10,000. Addresses already invited to the workspace are skipped.
          </p>
        )}
      </div>

      {state.invalid.length > 0 && <OffendingEntries state={state} />}

      <button type="submit" className="button" disabled={pending} aria-disabled={pending}>
        {pending ? 'Inviting…' : 'Invite'}
      </button>
    </form>
  );
}

function OffendingEntries({ state }: { state: InviteFormState }) {
  return (
    <div className="table-scroll">
      <table className="table invite-offenders" aria-label="Addresses to fix">
        <thead>
          <tr>
            <th className="num">#</th>
            <th>Address</th>
            <th>Problem</th>
          </tr>
        </thead>
        <tbody>
          {state.invalid.map((entry) => (
            <tr key={entry.index}>
              {/* Counted from 1, as a person counts the lines they pasted. */}
              <td className="num">{entry.index + 1}</td>
              <td className="mono">{entry.email}</td>
              <td>{entry.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {state.invalidCount > state.invalid.length && (
        <p className="muted small">
          And {(state.invalidCount - state.invalid.length).toLocaleString('en-US')} more not shown.
        </p>
      )}
    </div>
  );
}
