// The dead-letter list's filters as query parameters, so a filtered view is a link to share:
// ?queue=crm&error=422&within=1h&kind=failed&fingerprint=…&resolved=include&beforeId=120. after= and
// before= take ISO times, as the JSON API does. A parameter that does not parse is ignored rather
// than refused: this is a page a person types into. The same filters, less paging, are what a
// redrive replays (toMatch).
import { z } from 'zod';
import type { DeadLetterFilter } from '@/app/_admin/dead-letters/dead-letters';
import { deadLetterMatchSchema, type DeadLetterMatch } from '@/lib/dead-letter-filter';
import { FINGERPRINT_PATTERN } from '@/lib/failure-fingerprint';
import { QUEUE_NAMES } from '@/lib/queues';

export const TIME_WINDOWS = {
  '15m': { label: 'last 15 min', ms: 15 * 60_000 },
  '1h': { label: 'last hour', ms: 60 * 60_000 },
  '24h': { label: 'last 24 h', ms: 24 * 60 * 60_000 },
  '7d': { label: 'last 7 days', ms: 7 * 24 * 60 * 60_000 },
} as const;
export type TimeWindow = keyof typeof TIME_WINDOWS;

/** Sidekiq's page size: a screen or two of rows, each with its error. */
export const PAGE_SIZE = 25;

const isoTime = z.iso.datetime({ offset: true });

const filterSchema = z.object({
  queue: z.enum(QUEUE_NAMES).optional().catch(undefined),
  error: z.string().trim().max(200).optional().catch(undefined),
  within: z.enum(Object.keys(TIME_WINDOWS) as [TimeWindow, ...TimeWindow[]]).optional().catch(undefined),
  after: isoTime.optional().catch(undefined),
  before: isoTime.optional().catch(undefined),
  kind: z.enum(['failed', 'cancelled']).optional().catch(undefined),
  fingerprint: z.string().regex(FINGERPRINT_PATTERN).optional().catch(undefined),
  resolved: z.literal('include').optional().catch(undefined),
  beforeId: z.string().regex(/^[1-9][0-9]{0,18}$/).optional().catch(undefined),
});

export type DeadLetterQuery = z.output<typeof filterSchema>;

export function parseDeadLetterQuery(searchParams: Record<string, string | string[] | undefined>): DeadLetterQuery {
  const first = Object.fromEntries(
    Object.entries(searchParams).map(([key, value]) => [key, Array.isArray(value) ? value[0] : value || undefined]),
  );
  return filterSchema.parse(first);
}

/** The query as app/_admin/dead-letters/dead-letters.ts's filter; `within` counts back from `now`. */
export function toFilter(query: DeadLetterQuery, now: number): DeadLetterFilter {
  const windowStart = query.within ? new Date(now - TIME_WINDOWS[query.within].ms) : undefined;
  const after = query.after ? new Date(query.after) : undefined;
  return {
    queue: query.queue,
    errorContains: query.error || undefined,
    // Both bounds can be given; the later one is the tighter.
    failedAfter: after && windowStart ? (after > windowStart ? after : windowStart) : (after ?? windowStart),
    failedBefore: query.before ? new Date(query.before) : undefined,
    fingerprint: query.fingerprint,
    kind: query.kind,
    includeResolved: query.resolved === 'include',
    beforeId: query.beforeId ? BigInt(query.beforeId) : undefined,
    limit: PAGE_SIZE,
  };
}

/**
 * The list's filters as a redrive's (lib/dead-letter-filter.ts), `within` fixed to a start time
 * now, so the count a person confirms is of a fixed set. A redrive takes failed letters unless the
 * list shows only cancelled ones.
 */
export function toMatch(query: DeadLetterQuery, now: number): DeadLetterMatch | undefined {
  const { failedAfter } = toFilter(query, now);
  // Undefined when the bounds contradict each other (after later than before): nothing to replay.
  return deadLetterMatchSchema.safeParse({
    queue: query.queue,
    error: query.error || undefined,
    fingerprint: query.fingerprint,
    kind: query.kind ?? 'failed',
    after: failedAfter?.toISOString(),
    before: query.before,
  }).data;
}

/** This list's address with some parameters changed; undefined removes one. Paging restarts unless given. */
export function listHref(query: DeadLetterQuery, changes: Partial<Record<keyof DeadLetterQuery, string | undefined>>): string {
  const merged: Partial<Record<keyof DeadLetterQuery, string | undefined>> = { ...query, beforeId: undefined, ...changes };
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(merged)) if (value) params.set(key, value);
  const search = params.toString();
  return search ? `/admin/dead-letters?${search}` : '/admin/dead-letters';
}
