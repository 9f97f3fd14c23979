// Which unresolved dead letters a redrive covers: queue, error text, fingerprint, kind and a
// failed-at range. One schema and one SQL condition, shared by the admin's preview (app/) and the
// workers' batches (workers/maintenance/dead-letter-redrive.ts), so the count a person confirms and the
// letters replayed are the same (docs/failure-model.md#redrives).
import { z } from 'zod';
import { FINGERPRINT_PATTERN } from '@/lib/failure-fingerprint';
import { QUEUE_NAMES } from '@/lib/queues';
import { sql, type Sql } from '@/lib/sql';

const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO time with an offset, e.g. 2026-12-06T10:00:00Z' });

export const deadLetterMatchSchema = z
  .object({
    queue: z.enum(QUEUE_NAMES, { message: `must be one of ${QUEUE_NAMES.join(', ')}` }).optional(),
    /** Case-insensitive substring of the last error. */
    error: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
    fingerprint: z.string().regex(FINGERPRINT_PATTERN, 'must be 16 hex characters').optional(),
    // A cancelled job was stopped on purpose: it is replayed only when a filter asks for it.
    kind: z.enum(['failed', 'cancelled'], { message: 'must be failed or cancelled' }).default('failed'),
    after: isoTime.optional(),
    before: isoTime.optional(),
  })
  .strict()
  .refine((match) => !match.after || !match.before || Date.parse(match.after) < Date.parse(match.before), {
    message: 'must be later than after',
    path: ['before'],
  });

export type DeadLetterMatch = z.output<typeof deadLetterMatchSchema>;

/** A WHERE condition on dead_letters: unresolved and matching. */
export function matchingDeadLetters(match: DeadLetterMatch): Sql {
  const { queue = null, error = null, fingerprint = null, kind, after = null, before = null } = match;
  return sql`resolution IS NULL AND kind = ${kind}
    AND (${queue}::text IS NULL OR queue = ${queue}::text)
    AND (${error}::text IS NULL OR strpos(lower(last_error), lower(${error}::text)) > 0)
    AND (${fingerprint}::text IS NULL OR fingerprint = ${fingerprint}::text)
    AND (${after}::timestamptz IS NULL OR failed_at >= ${after}::timestamptz)
    AND (${before}::timestamptz IS NULL OR failed_at <= ${before}::timestamptz)`;
}
