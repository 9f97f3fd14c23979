// What a bulk invitation may contain: a workspace slug and a list of addresses, judged by the same
// rules as a signup's workspace and email (app/_signup/signup-input.ts), so an address that could
// not sign up is never invited. Shared by the JSON API and the admin form's server action.
//
// All or nothing: one invalid or repeated address refuses the whole list, and every offending entry
// is reported at once, so the sender fixes the list in one pass instead of one error per retry.
// Addresses already invited to the workspace are not judged here; they are not mistakes (see
// invite-members.ts).
import 'server-only';
import { emailAddress, workspaceSlug, type FieldErrors } from '@/app/_signup/signup-input';

/**
 * The bound on one request (docs/operations.md, "Limits"). It also bounds one transaction's
 * work, which the save budget in invite-members.ts is sized for.
 */
export const MAX_INVITES = 10_000;

/**
 * How many offending entries a refusal lists. A list pasted from the wrong column can be wrong in
 * all 10,000 entries; the first hundred show the pattern and keep the answer small, and the total
 * is given alongside.
 */
export const MAX_LISTED_OFFENDERS = 100;

export interface InviteInput {
  /** Trimmed and lower-cased. */
  workspace: string;
  /** Trimmed, lower-cased, distinct; in the order given. */
  emails: string[];
}

export interface OffendingEntry {
  /** Position in the list, from 0. */
  index: number;
  /** The entry as it was sent (non-text entries as their JSON), cut at MAX_ECHOED_CHARS. */
  email: string;
  reason: string;
}

export type InviteRefusal = {
  errors: FieldErrors;
  /** At most MAX_LISTED_OFFENDERS, in list order. */
  invalid: OffendingEntry[];
  /** All offending entries, listed or not. */
  invalidCount: number;
};

export type ParsedInvites = { ok: true; input: InviteInput } | ({ ok: false } & InviteRefusal);

export const REPEATED_ENTRY = 'Appears earlier in the list.';

/** Judges the workspace and the whole list, reporting every problem found in either. */
export function parseInviteInput(workspace: unknown, emails: unknown): ParsedInvites {
  const errors: FieldErrors = {};
  const slug = workspaceSlug.safeParse(workspace);
  if (!slug.success) errors.workspace = slug.error.issues[0]?.message ?? 'Workspace is not valid.';

  const list = parseList(emails);
  let invalid: OffendingEntry[] = [];
  if ('error' in list) errors.emails = list.error;
  if ('offenders' in list) {
    invalid = list.offenders;
    errors.emails = offendersSummary(invalid.length, list.total);
  }

  if (slug.success && 'emails' in list) return { ok: true, input: { workspace: slug.data, emails: list.emails } };
  return { ok: false, errors, invalid: invalid.slice(0, MAX_LISTED_OFFENDERS), invalidCount: invalid.length };
}

/** The JSON body's shape, `{emails: [...]}`; the workspace comes from the URL. */
export function parseInviteBody(workspace: string, body: unknown): ParsedInvites {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, errors: { body: 'Expected a JSON object: {"emails": ["ada@example.com", …]}.' }, invalid: [], invalidCount: 0 };
  }
  return parseInviteInput(workspace, (body as { emails?: unknown }).emails);
}

/**
 * The form's textarea as a list: one address per line, or separated by commas or semicolons (what
 * mail clients and spreadsheets paste). None of these can appear in an address we accept, so
 * splitting on them never cuts a valid one; blank pieces are dropped.
 */
export function addressesFromText(text: string): string[] {
  return text
    .split(/[\r\n,;]+/)
    .map((piece) => piece.trim())
    .filter((piece) => piece !== '');
}

/**
 * How much of an offending entry is echoed: enough to find it (a valid address has at most 254
 * characters), never so much that a refusal outgrows the request that caused it.
 */
const MAX_ECHOED_CHARS = 300;

type ParsedList = { error: string } | { offenders: OffendingEntry[]; total: number } | { emails: string[] };

function parseList(raw: unknown): ParsedList {
  if (!Array.isArray(raw)) return { error: 'Send the addresses as a list: {"emails": ["ada@example.com", …]}.' };
  if (raw.length === 0) return { error: 'List at least one address.' };
  if (raw.length > MAX_INVITES) {
    return { error: `At most ${count(MAX_INVITES)} addresses per request; this list has ${count(raw.length)}.` };
  }

  const offenders: OffendingEntry[] = [];
  const firstSeen = new Set<string>();
  const emails: string[] = [];
  raw.forEach((entry: unknown, index) => {
    const shown = (typeof entry === 'string' ? entry : String(JSON.stringify(entry))).slice(0, MAX_ECHOED_CHARS);
    if (typeof entry !== 'string') {
      offenders.push({ index, email: shown, reason: 'Each address must be text.' });
      return;
    }
    const parsed = emailAddress.safeParse(entry);
    if (!parsed.success) {
      offenders.push({ index, email: shown, reason: parsed.error.issues[0]?.message ?? 'Enter a valid email address.' });
    } else if (firstSeen.has(parsed.data)) {
      // Case-insensitive, like the database's citext column: Ada@x and ada@x are one person.
      offenders.push({ index, email: shown, reason: REPEATED_ENTRY });
    } else {
      firstSeen.add(parsed.data);
      emails.push(parsed.data);
    }
  });
  return offenders.length > 0 ? { offenders, total: raw.length } : { emails };
}

function offendersSummary(offending: number, total: number): string {
  const which = offending === 1 ? '1 address is' : `${count(offending)} addresses are`;
  const listed = offending > MAX_LISTED_OFFENDERS ? ` The first ${MAX_LISTED_OFFENDERS} are listed.` : '';
  return `${which} invalid or repeated, of ${count(total)}; nobody was invited.${listed}`;
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}
