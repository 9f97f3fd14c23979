// A reconciler pass that sees one test's signups and no one else's, in the database the test files
// share: their outbox rows are moved to one random instant 1–30 days ago, and the pass looks only
// at a window around it.
import type { Db } from '@/lib/db';
import type { ReconcileOptions } from '@/workers/maintenance/reconciler';

const DAY_MS = 24 * 60 * 60 * 1_000;
/** Half the window's width: far wider than a test runs, far narrower than the spread of ages. */
export const MARGIN_MS = 60_000;

/** Moves the users' outbox rows back in time and returns the window around them. */
export async function backdate(
  db: Db,
  userIds: string[],
): Promise<{ ageMs: number; window: Omit<ReconcileOptions, 'log'> }> {
  const ageMs = DAY_MS + Math.floor(Math.random() * 29 * DAY_MS);
  await db.$executeRaw`
    UPDATE outbox_messages
       SET created_at = now() - make_interval(secs => ${ageMs / 1_000}::float8)
     WHERE payload->>'userId' = ANY(${userIds}::text[])`;
  return { ageMs, window: { graceMs: ageMs - MARGIN_MS, lookbackMs: ageMs + MARGIN_MS, batchSize: 100 } };
}
