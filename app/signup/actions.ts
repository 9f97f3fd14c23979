'use server';
// The signup form's server action: the same checks and the same save as POST /api/signups, for a
// browser posting the form (with or without JavaScript). Refusals come back as form state; only a
// successful save leaves the page, by redirecting to the new user's status page.
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { createSignup } from '@/app/_signup/create-signup';
import { statusPath } from '@/lib/access-tokens';
import { DUPLICATE_EMAIL_ERRORS, parseSignupInput, type FieldErrors } from '@/app/_signup/signup-input';
import { webRuntime } from '@/app/_web/web-runtime';
import { clientAddress } from '@/lib/client-address';
import { errorSummary } from '@/lib/log';

type Field = 'name' | 'email' | 'workspace';

export type SignupFormValues = Record<Field, string>;

export interface SignupFormState {
  /** What the user typed, echoed back so a refused form keeps its values. */
  values: SignupFormValues;
  /** One message per field, keyed by field name. */
  errors: FieldErrors;
  /** A refusal that belongs to no single field: rate limit, database unavailable. */
  formError?: string;
}

export async function submitSignup(_previous: SignupFormState, formData: FormData): Promise<SignupFormState> {
  const values = formValues(formData);
  const runtime = webRuntime();

  const decision = await runtime.limiter.take(clientAddress(await headers()));
  if (!decision.allowed) {
    const from = decision.scope === 'address' ? 'from this address' : 'right now';
    return {
      values,
      errors: {},
      formError: `Too many signups ${from}; try again in ${decision.retryAfterSeconds} s.`,
    };
  }

  const parsed = parseSignupInput(values);
  if (!parsed.ok) {
    const { body, ...errors } = parsed.errors;
    return { values, errors, formError: body };
  }

  const outcome = await createSignup(parsed.input, runtime);
  switch (outcome.status) {
    case 'duplicate':
      return { values, errors: { ...DUPLICATE_EMAIL_ERRORS } };
    case 'unavailable':
      runtime.log.error('signup could not be saved', {
        error: errorSummary(outcome.error),
      });
      return { values, errors: {}, formError: 'We cannot take signups right now; please try again in a moment.' };
    case 'created':
      runtime.log.debug('signup created', { user: outcome.userId, dispatched: outcome.dispatched });
      // redirect() throws to unwind the action, so it stays outside any try/catch.
      redirect(statusPath(outcome.statusToken));
  }
}

/** Only the form's own fields, as strings; a file upload or a missing field reads as empty. */
function formValues(formData: FormData): SignupFormValues {
  const read = (field: Field) => {
    const value = formData.get(field);
    return typeof value === 'string' ? value : '';
  };
  return { name: read('name'), email: read('email'), workspace: read('workspace') };
}
