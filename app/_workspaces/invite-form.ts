// The admin invite form's work, apart from its server action so tests can run it with their own
// dependencies: the textarea becomes a list, judged by the same rules and saved by the same core as
// POST /api/workspaces/<slug>/invites. Refusals come back as form state for the page to show.
import 'server-only';
import type { FieldErrors } from '@/app/_signup/signup-input';
import { addressesFromText, parseInviteInput, type OffendingEntry } from '@/app/_workspaces/invite-input';
import { inviteMembers } from '@/app/_workspaces/invite-members';
import type { InviteRequestDeps } from '@/app/_workspaces/invite-request';

type Field = 'workspace' | 'emails';

export interface InviteFormState {
  /** What the admin typed, echoed back so a refused form keeps its values. */
  values: Record<Field, string>;
  /** One message per field. */
  errors: FieldErrors;
  /** The offending addresses, at most MAX_LISTED_OFFENDERS; `index` counts the addresses from 0. */
  invalid: OffendingEntry[];
  invalidCount: number;
  /** A refusal that belongs to no field: the database is unavailable. */
  formError?: string;
  /** After a save: "Invited N (M already invited)". */
  message?: string;
}

export async function submitInviteForm(
  formData: FormData,
  deps: Pick<InviteRequestDeps, 'pool' | 'queues' | 'log'>,
  actor: string,
): Promise<InviteFormState> {
  const values = formValues(formData);
  const parsed = parseInviteInput(values.workspace, addressesFromText(values.emails));
  if (!parsed.ok) return { values, errors: parsed.errors, invalid: parsed.invalid, invalidCount: parsed.invalidCount };

  const outcome = await inviteMembers(parsed.input, deps);
  if (outcome.status === 'unavailable') {
    deps.log.error('invitations could not be saved', {
      workspace: parsed.input.workspace,
      error: outcome.error instanceof Error ? outcome.error.message.split('\n')[0] : String(outcome.error),
    });
    return {
      values,
      errors: {},
      invalid: [],
      invalidCount: 0,
      formError: 'We cannot save invitations right now; nobody was invited. Please try again in a moment.',
    };
  }
  deps.log.info('workspace invitations saved', {
    workspace: parsed.input.workspace,
    by: actor,
    count: outcome.count,
    alreadyInvited: outcome.alreadyInvited,
    dispatched: outcome.dispatched,
  });
  const later = outcome.dispatched ? '' : ' Valkey is not answering: the emails wait in the outbox and go out once it is back.';
  return {
    // The workspace stays for the next list; the addresses are done.
    values: { workspace: parsed.input.workspace, emails: '' },
    errors: {},
    invalid: [],
    invalidCount: 0,
    message: `Invited ${count(outcome.count)} (${count(outcome.alreadyInvited)} already invited) to ${parsed.input.workspace}.${later}`,
  };
}

/** Only the form's own fields, as strings; a file upload or a missing field reads as empty. */
function formValues(formData: FormData): Record<Field, string> {
  const read = (field: Field) => {
    const value = formData.get(field);
    return typeof value === 'string' ? value : '';
  };
  return { workspace: read('workspace'), emails: read('emails') };
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}
