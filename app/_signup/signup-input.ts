// What a signup may contain, and how it is normalised before anything is stored. Shared by the JSON
// API and the form's server action so both accept and refuse exactly the same input.
import 'server-only';
import { z } from 'zod';
import type { FieldErrors } from '@/app/_web/bad-request';

// Control characters would let a name break the layout of emails and the admin pages.
const NO_CONTROL_CHARS = /^[^\p{Cc}\p{Cf}]*$/u;

// Lower-cased as a whole: the local part is case-sensitive in theory and in no mail system anyone
// uses, and one person must not be able to hold two accounts by changing case. Dots and +tags are
// kept: removing them is provider-specific and would merge distinct addresses elsewhere. Exported
// for workspace invitations, which must accept exactly the addresses a signup accepts.
export const emailAddress = z
  .string({ error: 'Email is required.' })
  .trim()
  .min(1, 'Email is required.')
  .max(254, 'Email must be at most 254 characters.')
  .toLowerCase()
  .pipe(z.email('Enter a valid email address.'));

/** A workspace's slug, as a signup names it and as the invitations API addresses it. */
export const workspaceSlug = z
  .string({ error: 'Workspace must be text.' })
  .trim()
  .toLowerCase()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/,
    'Workspace must be 1–48 letters, digits or hyphens, not starting or ending with a hyphen.',
  );

export const signupInput = z.object({
  name: z
    .string({ error: 'Name is required.' })
    .trim()
    .min(1, 'Name is required.')
    .max(100, 'Name must be at most 100 characters.')
    .regex(NO_CONTROL_CHARS, 'Name contains characters that are not allowed.'),
  email: emailAddress,
  workspace: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    workspaceSlug.optional(),
  ),
});

export type SignupInput = z.output<typeof signupInput>;
export type { FieldErrors };

/** Said for a taken email, whichever way the signup arrived; nothing about the existing account. */
export const DUPLICATE_EMAIL_ERRORS: Readonly<FieldErrors> = { email: 'An account with this email already exists.' };

export function parseSignupInput(raw: unknown): { ok: true; input: SignupInput } | { ok: false; errors: FieldErrors } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, errors: { body: 'Expected a JSON object with name, email and optional workspace.' } };
  }
  const parsed = signupInput.safeParse(raw);
  if (parsed.success) return { ok: true, input: parsed.data };
  const errors: FieldErrors = {};
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? 'body');
    errors[field] ??= issue.message;
  }
  return { ok: false, errors };
}
