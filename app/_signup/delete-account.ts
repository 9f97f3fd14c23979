// "Delete my account" on the status page (its form action) and DELETE /api/welcome/<token>.
//
// One transaction deletes the user, whose effect rows (welcome email, CRM contact, avatar,
// analytics events, sent emails) go with it by ON DELETE CASCADE, and the signup's outbox rows that
// were never dispatched, so the relay cannot hand over work for an account that no longer exists.
// They are found by their deterministic job ids, through the unique index: a scan of the payloads
// of every pending row would read three days of everyone's follow-ups. A pending resend (Valkey
// was down when it was pressed) is due now and left to its handler, which skips a deleted user.
// That is also what cancels the "getting started" email in the usual case: it waits in the outbox
// until a minute before it is due (DISPATCH_HORIZON_MS in lib/outbox.ts). In that last minute, or
// when its worker is late, it is a delayed job in Valkey, so after commit it is removed from the
// email queue by its deterministic id. The user's other jobs are left where they are: they run
// within seconds of the signup or the press that queued them, and each of their handlers reads
// the user first and skips a deleted one.
//
// That read is also the second line of defence for the follow-up itself. If Valkey is down at
// deletion, or the signup's own dispatch adds the job a moment after it was removed, or the job
// is already running, the job stays, and its handler finds no user and sends nothing.
//
// The same transaction also writes one erasure job per provider that holds the person's data
// (the CRM contact, the analytics events, the avatar: docs/failure-model.md#erasure), dispatched
// after commit like a signup's jobs, with the relay behind them. A job of the user's that creates
// at a provider after the erasure ran deletes it itself (workers/jobs/erasure.ts).
//
// Dead letters of the user's jobs are not touched: they hold ids only, and discarding them is a
// person's decision in the admin.
import 'server-only';
import { tokenHash } from '@/lib/access-tokens';
import { withDeadline } from '@/lib/deadline';
import { errorSummary, type Logger } from '@/lib/log';
import { dispatchNow, writeOutbox, type DispatchMarks, type OutboxRow } from '@/lib/outbox';
import type { QueueSet } from '@/lib/queues';
import { execute, query, sql, transaction, type Pool } from '@/lib/sql';
import {
  ERASURE_JOBS,
  jobOptions,
  outboxEntry,
  pacedByTenant,
  sendGettingStartedEmail,
  SIGNUP_JOBS,
} from '@/workers/jobs/job-contracts';

/** The transaction's budget, connection included: a sick database answers 503 within ~2 s. */
const WRITE_BUDGET_MS = 1_500;

/**
 * How long removing the follow-up from Valkey may take: the producer connection's command
 * timeout (lib/valkey.ts). A connection that never connected makes BullMQ wait without a timeout
 * of its own, and the account is already deleted, so the answer must not wait on Valkey.
 */
const REMOVE_DEADLINE_MS = 500;

export type DeleteAccountOutcome =
  /**
   * `followUpRemoved` is false when Valkey could not be asked; the handler then skips the job.
   * `erasuresDispatched` is false when the erasure jobs were left to the relay.
   */
  | { status: 'deleted'; userId: string; followUpRemoved: boolean; erasuresDispatched: boolean }
  | { status: 'unknown-token' }
  /** The link has expired: it still names the account, but no longer acts for it. */
  | { status: 'expired' }
  | { status: 'unavailable'; error: unknown };

export async function deleteAccount(
  statusToken: string,
  { pool, queues, marks }: { pool: Pool; queues: QueueSet; marks?: DispatchMarks },
): Promise<DeleteAccountOutcome> {
  let found: { userId: string; erasures: OutboxRow[] } | { refused: 'unknown-token' | 'expired' };
  try {
    found = await transaction(
      pool,
      async (client): Promise<typeof found> => {
        const [target] = await query<{ id: string | null; known: boolean }>(client, sql`
          WITH link AS (
            SELECT user_id, expires_at > now() AS live FROM access_tokens
             WHERE token_hash = ${tokenHash(statusToken)} AND purpose = 'status'
          ), deleted AS (
            DELETE FROM users WHERE id = (SELECT user_id FROM link WHERE live) RETURNING id
          )
          SELECT (SELECT id FROM deleted) AS id, EXISTS (SELECT 1 FROM link) AS known`);
        const deleted = target?.id ? { id: target.id } : undefined;
        if (!deleted) return { refused: target?.known ? 'expired' : 'unknown-token' };
        // A row the relay holds locked right now is waited for; once dispatched it no longer
        // matches, and its job's handler skips the deleted user.
        const jobIds = [...SIGNUP_JOBS, sendGettingStartedEmail].map((contract) => contract.jobId({ userId: deleted.id }));
        await execute(client, sql`DELETE FROM outbox_messages WHERE job_id = ANY(${jobIds}::text[]) AND dispatched_at IS NULL`);
        const erasures = await writeOutbox(client, ERASURE_JOBS.map((contract) => outboxEntry(contract, { userId: deleted.id })));
        return { userId: deleted.id, erasures };
      },
      { statementTimeoutMs: WRITE_BUDGET_MS, deadlineMs: WRITE_BUDGET_MS },
    );
  } catch (error) {
    return { status: 'unavailable', error };
  }
  if ('refused' in found) return { status: found.refused };
  const { userId, erasures } = found;
  const [followUpRemoved, erasuresDispatched] = await Promise.all([
    removeFollowUp(queues, userId),
    // A mark that fails after the add leaves the rows to the relay, which adds nothing twice.
    dispatchNow(pool, { queues, jobOptions, pacedByTenant, marks }, erasures).catch(() => false),
  ]);
  return { status: 'deleted', userId, followUpRemoved, erasuresDispatched };
}

/** True when Valkey confirmed the follow-up is not in the queue (BullMQ answers 1). */
async function removeFollowUp(queues: QueueSet, userId: string): Promise<boolean> {
  const removal = queues.email.remove(sendGettingStartedEmail.jobId({ userId }));
  try {
    // 0 means the job is running right now: it cannot be removed, and its handler skips the user.
    return (await withDeadline(removal, REMOVE_DEADLINE_MS, () => new Error(`Valkey did not answer within ${REMOVE_DEADLINE_MS} ms`))) === 1;
  } catch {
    return false;
  }
}

const NO_STORE = { 'cache-control': 'no-store' };

/** The HTTP answer for DELETE /api/welcome/<token>; the route file only wires it. */
export async function handleDeleteAccountRequest(
  statusToken: string,
  deps: { pool: Pool; queues: QueueSet; log: Logger; marks?: DispatchMarks },
): Promise<Response> {
  const outcome = await deleteAccount(statusToken, deps);
  switch (outcome.status) {
    case 'deleted':
      deps.log.info('account deleted', {
        user: outcome.userId,
        followUpRemoved: outcome.followUpRemoved,
        erasuresDispatched: outcome.erasuresDispatched,
      });
      return new Response(null, { status: 204, headers: NO_STORE });
    case 'unknown-token':
      return Response.json({ error: 'Unknown status token.' }, { status: 404, headers: NO_STORE });
    case 'expired':
      return Response.json(
        { error: 'This status link has expired; ask for a new one on its page.' },
        { status: 410, headers: NO_STORE },
      );
    case 'unavailable':
      deps.log.warn('account deletion unavailable', { error: errorSummary(outcome.error) });
      return Response.json(
        { error: 'We cannot delete accounts right now; please try again in a moment.' },
        { status: 503, headers: { ...NO_STORE, 'retry-after': '5' } },
      );
  }
}
