// The last step of every handler: record the effect under its unique key, one INSERT that does
// nothing when the key is taken. Taken means another run of the same job recorded it first (two
// deliveries raced past read-and-validate), so the effect is applied once and this run is "already
// done", not a failure.
import { execute, type Queryable, type Sql } from '@/lib/sql';
import type { HandlerOutcome } from '@/workers/jobs/handler-context';

/** `insert` must end in ON CONFLICT DO NOTHING: 0 rows written is the other run's record. */
export async function recordEffect(db: Queryable, insert: Sql, detail: Record<string, string>): Promise<HandlerOutcome> {
  return (await execute(db, insert)) === 1 ? { status: 'applied', detail } : { status: 'already-done' };
}
