// A deleted account's data at the providers, from both sides (docs/failure-model.md#erasure): the
// erasure jobs that delete-account.ts enqueues, one per provider, and the jobs that create data
// there, which record their effect only while the user exists and otherwise delete what they may
// have created. Between them, a create that lands after the erasure is removed by the job that
// sent it, so every order of deletion, erasure and create ends with nothing at the provider.
import { query, raw, sql, type Sql } from '@/lib/sql';
import type { JobContract } from '@/workers/jobs/define-job';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { effectAndUser } from '@/workers/jobs/read-and-validate';
import { recordEffect } from '@/workers/jobs/record-effect';

/** The skip of a job whose user is gone; the same words whichever step found it. */
export const USER_DELETED = 'user deleted';

/** A provider call that deletes everything of one user's there, and succeeds when nothing is left. */
export type DeleteAtProvider = (ctx: HandlerContext, userId: string) => Promise<void>;

/**
 * An erasure job: delete at the provider, then record the erasure under the job id. Owed only to
 * a deleted account, so a job whose user exists (a replay or a hand-made job; ids are never
 * reused) erases nothing. Deleting what is already gone succeeds, so a repeat is harmless.
 */
export async function eraseUserData<Payload extends { userId: string }>(
  contract: JobContract<Payload>,
  payload: Payload,
  ctx: HandlerContext,
  deleteAtProvider: DeleteAtProvider,
): Promise<HandlerOutcome> {
  const { userId } = payload;
  const { done, user } = await effectAndUser(ctx, contract, payload, userId);
  if (done) return { status: 'already-done' };
  if (user) return { status: 'skipped', reason: 'account exists' };

  await deleteAtProvider(ctx, userId);
  return recordEffect(
    ctx.pool,
    sql`INSERT INTO erasures (job_id, user_id, provider)
        VALUES (${contract.jobId(payload)}, ${userId}::uuid, ${contract.provider}) ON CONFLICT DO NOTHING`,
    { provider: contract.provider },
  );
}

/**
 * A creating job's last step: records its effect if its user still exists, in one statement that
 * holds the user row (FOR KEY SHARE) so a deletion cannot commit in between. `insert` selects the
 * user from `owner` and ends in ON CONFLICT DO NOTHING RETURNING 1. Undefined: the user is gone,
 * and the caller must undo its call (skipUndoing).
 */
export async function recordWhileUserExists(
  ctx: HandlerContext,
  userId: string,
  insert: (owner: Sql) => Sql,
  detail: Record<string, string>,
): Promise<HandlerOutcome | undefined> {
  const [row] = await query<{ ownerExists: boolean; recorded: number }>(ctx.pool, sql`
    WITH owner AS (SELECT id FROM users WHERE id = ${userId}::uuid FOR KEY SHARE),
         recorded AS (${insert(raw('owner'))})
    SELECT EXISTS (SELECT 1 FROM owner) AS "ownerExists", (SELECT count(*) FROM recorded)::int AS recorded`);
  if (!row?.ownerExists) return undefined;
  return row.recorded === 1 ? { status: 'applied', detail } : { status: 'already-done' };
}

/**
 * A creating job whose user is gone: deletes whatever this job's calls may have created, then
 * skips. Called after a call that succeeded, and at the start of any run that finds the user gone,
 * since an earlier attempt's call may have landed though its answer was lost. A failed delete
 * throws, so the job is retried until it is done.
 */
export async function skipUndoing(ctx: HandlerContext, userId: string, deleteAtProvider: DeleteAtProvider): Promise<HandlerOutcome> {
  await deleteAtProvider(ctx, userId);
  return { status: 'skipped', reason: USER_DELETED };
}
