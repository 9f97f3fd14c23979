// Every 400 the web app answers has one shape: `error`, one sentence that says what is wrong, and
// `errors`, each offending field with its message, the way the signup form shows them beside their
// inputs. A route may add fields of its own (the invitations add the offending entries), never take
// these away. Expected refusals are values, never thrown (docs/architecture.md).
import 'server-only';
import type { z } from 'zod';

/** Field → message; `body` when the request as a whole is wrong (not JSON, not an object). */
export type FieldErrors = Record<string, string>;

export function badRequest(errors: FieldErrors, extra: Record<string, unknown> = {}, headers?: HeadersInit): Response {
  return Response.json({ error: summary(errors), errors, ...extra }, { status: 400, headers });
}

/** A zod failure as field errors: the first message for each top-level field, `body` for the rest. */
export function fieldErrorsOf(error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const field = issue.path.length > 0 ? String(issue.path[0]) : 'body';
    errors[field] ??= issue.message;
  }
  return errors;
}

function summary(errors: FieldErrors): string {
  const fields = Object.keys(errors);
  if (fields.length === 1) return errors[fields[0] as string] ?? 'The request is not valid.';
  return `The request is not valid: ${fields.join(', ')}.`;
}
