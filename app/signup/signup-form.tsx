'use client';
// The signup form. It posts to a server action, so it works before (or without) JavaScript: React
// renders a real POST form and the server answers with the page re-rendered around the action's
// state. With JavaScript the same action runs without a reload and the button shows progress.
import { useActionState, useEffect, useRef, type ReactNode } from 'react';
import { submitSignup, type SignupFormState } from '@/app/signup/actions';

const INITIAL_STATE: SignupFormState = { values: { name: '', email: '', workspace: '' }, errors: {} };

export function SignupForm() {
  const [state, formAction, pending] = useActionState(submitSignup, INITIAL_STATE);
  const formRef = useRef<HTMLFormElement>(null);

  // After a refused submit, put the keyboard where the first problem is.
  useEffect(() => {
    if (state === INITIAL_STATE) return;
    const firstInvalid = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    firstInvalid?.focus();
  }, [state]);

  return (
    <form ref={formRef} action={formAction} className="signup-form" noValidate>
      {state.formError && (
        <p className="form-error" role="alert">
          {state.formError}
        </p>
      )}

      <Field name="name" label="Name" error={state.errors.name}>
        {(props) => (
          <input {...props} type="text" autoComplete="name" maxLength={100} required defaultValue={state.values.name} />
        )}
      </Field>

      <Field name="email" label="Email" error={state.errors.email}>
        {(props) => (
          <input
            {...props}
            type="email"
            autoComplete="email"
            inputMode="email"
            maxLength={254}
            required
            defaultValue={state.values.email}
          />
        )}
      </Field>

      <Field
        name="workspace"
        label="Workspace"
        optional
        hint="Letters, digits and hyphens, for example acme-inc."
        error={state.errors.workspace}
      >
        {(props) => (
          <input
            {...props}
            type="text"
            autoComplete="organization"
            autoCapitalize="none"
            spellCheck={false}
            maxLength={48}
            defaultValue={state.values.workspace}
          />
        )}
      </Field>

      <button type="submit" className="button" disabled={pending} aria-disabled={pending}>
        {pending ? 'Creating your account…' : 'Create account'}
      </button>
    </form>
  );
}

interface InputProps {
  id: string;
  name: string;
  'aria-invalid': true | undefined;
  'aria-describedby': string | undefined;
}

function Field({
  name,
  label,
  optional = false,
  hint,
  error,
  children,
}: {
  name: string;
  label: string;
  optional?: boolean;
  hint?: string;
  error: string | undefined;
  children: (props: InputProps) => ReactNode;
}) {
  const id = `signup-${name}`;
  // The error restates the rule, so the hint steps aside rather than saying it twice.
  const hintId = hint && !error ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [errorId, hintId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={error ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>
        {label}
        {optional && <span className="optional"> (optional)</span>}
      </label>
      {children({ id, name, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy })}
      {/* role=alert: announced as it appears; aria-describedby reads it again with its field. */}
      {error && (
        <p id={errorId} className="field-error" role="alert">
          {error}
        </p>
      )}
      {hintId && (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      )}
    </div>
  );
}
