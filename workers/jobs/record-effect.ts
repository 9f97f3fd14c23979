// The last step of every handler: record the effect under its unique key. A unique violation means
// another run of the same job recorded it first (two deliveries raced past read-and-validate), so
// the effect is applied once and this run is "already done", not a failure.
import { isUniqueViolation } from '@/lib/db';
import type { HandlerOutcome } from '@/workers/jobs/handler-context';

export async function recordEffect(
  insert: () => Promise<unknown>,
  detail: Record<string, string>,
): Promise<HandlerOutcome> {
  try {
    await insert();
  } catch (error) {
    if (isUniqueViolation(error)) return { status: 'already-done' };
    throw error;
  }
  return { status: 'applied', detail };
}
