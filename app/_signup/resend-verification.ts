// "Resend verification email" on the status page (its form action) and
// POST /api/welcome/<token>/verification-email. The per-user rate limit is one conditional UPDATE
// on users.verification_resent_at, in the same transaction as the job's outbox row: two presses
// racing each other, in one web process or in ten, serialise on the user's row lock, and only the
// first passes the WHERE clause. The job goes to Valkey after commit, or later through the relay
// when Valkey is down, so an accepted press is never lost.
import 'server-only';
import { dispatchNow, writeOutbox, type OutboxRow } from '@/lib/outbox';
import { errorSummary, type Logger } from '@/lib/log';
import type { QueueSet } from '@/lib/queues';
import { query, sql, transaction, type Pool, type Queryable } from '@/lib/sql';
import { jobOptions, outboxEntry, sendVerificationEmail } from '@/workers/jobs/job-contracts';

/**
 * One resend per user per minute: long enough that a held-down button or a script cannot
 * mail-bomb the user's own inbox or spend our SMTP quota, short enough that a real person who
 * deleted the first mail gets another link while still looking at the page.
 */
export const RESEND_INTERVAL_SECONDS = 60;

/** The transaction's budget, connection included: a sick database answers 503 within ~2 s. */
const WRITE_BUDGET_MS = 1_500;

export type ResendOutcome =
  /** The request is saved; `dispatched` is false when Valkey was unreachable and the relay has it. */
  | { status: 'sent'; userId: string; requestId: string; jobId: string; dispatched: boolean }
  | { status: 'too-soon'; retryAfterSeconds: number }
  | { status: 'already-verified' }
  | { status: 'unknown-token' }
  | { status: 'unavailable'; error: unknown };

type Refusal = Exclude<ResendOutcome, { status: 'sent' } | { status: 'unavailable' }>;

export async function resendVerification(
  statusToken: string,
  { pool, queues }: { pool: Pool; queues: QueueSet },
): Promise<ResendOutcome> {
  let result: { refused: Refusal } | { accepted: { userId: string; requestId: string; rows: OutboxRow[] } };
  try {
    result = await transaction(
      pool,
      async (client): Promise<typeof result> => {
        const claimed = await query<{ id: string }>(client, sql`
          UPDATE users
             SET verification_resent_at = now()
           WHERE status_token = ${statusToken}
             AND email_verified_at IS NULL
             AND (verification_resent_at IS NULL
                  OR verification_resent_at <= now() - make_interval(secs => ${RESEND_INTERVAL_SECONDS}::float8))
          RETURNING id`);
        const userId = claimed[0]?.id;
        if (!userId) return { refused: await whyRefused(client, statusToken) };
        const requestId = crypto.randomUUID();
        const rows = await writeOutbox(client, [outboxEntry(sendVerificationEmail, { userId, requestId })]);
        return { accepted: { userId, requestId, rows } };
      },
      { statementTimeoutMs: WRITE_BUDGET_MS, deadlineMs: WRITE_BUDGET_MS },
    );
  } catch (error) {
    return { status: 'unavailable', error };
  }
  if ('refused' in result) return result.refused;

  const { userId, requestId, rows } = result.accepted;
  let dispatched = false;
  try {
    dispatched = await dispatchNow(pool, { queues, jobOptions }, rows);
  } catch {
    // The job reached Valkey but marking the row failed: the relay dispatches it again under the
    // same job id, which adds nothing.
  }
  return { status: 'sent', userId, requestId, jobId: sendVerificationEmail.jobId({ userId, requestId }), dispatched };
}

/**
 * Why the UPDATE matched nothing. Inside the same transaction, so now() is the same instant the
 * UPDATE compared against and the seconds left agree with the refusal.
 */
async function whyRefused(client: Queryable, statusToken: string): Promise<Refusal> {
  const [user] = await query<{ verified: boolean; seconds_left: number | null }>(client, sql`
    SELECT email_verified_at IS NOT NULL AS verified,
           ceil(extract(epoch FROM verification_resent_at
                + make_interval(secs => ${RESEND_INTERVAL_SECONDS}::float8) - now()))::int AS seconds_left
      FROM users
     WHERE status_token = ${statusToken}`);
  if (!user) return { status: 'unknown-token' };
  if (user.verified) return { status: 'already-verified' };
  // A press that waited on another's row lock can see that press's time a moment in the future.
  const secondsLeft = Math.min(RESEND_INTERVAL_SECONDS, Math.max(1, user.seconds_left ?? 1));
  return { status: 'too-soon', retryAfterSeconds: secondsLeft };
}

const NO_STORE = { 'cache-control': 'no-store' };

/** The HTTP answer for POST /api/welcome/<token>/verification-email; the route file only wires it. */
export async function handleResendVerificationRequest(
  statusToken: string,
  deps: { pool: Pool; queues: QueueSet; log: Logger },
): Promise<Response> {
  const outcome = await resendVerification(statusToken, deps);
  switch (outcome.status) {
    case 'sent':
      deps.log.info('verification email requested', { user: outcome.userId, dispatched: outcome.dispatched });
      return Response.json(
        { status: 'sent', nextAllowedInSeconds: RESEND_INTERVAL_SECONDS },
        { status: 202, headers: NO_STORE },
      );
    case 'too-soon':
      return Response.json(
        {
          error: `A verification email was sent less than a minute ago; try again in ${outcome.retryAfterSeconds} s.`,
          retryAfterSeconds: outcome.retryAfterSeconds,
        },
        { status: 429, headers: { ...NO_STORE, 'retry-after': String(outcome.retryAfterSeconds) } },
      );
    case 'already-verified':
      return Response.json({ error: 'This email address is already confirmed.' }, { status: 409, headers: NO_STORE });
    case 'unknown-token':
      return Response.json({ error: 'Unknown status token.' }, { status: 404, headers: NO_STORE });
    case 'unavailable':
      deps.log.warn('verification resend unavailable', { error: errorSummary(outcome.error) });
      return Response.json(
        { error: 'We cannot send emails right now; please try again in a moment.' },
        { status: 503, headers: { ...NO_STORE, 'retry-after': '5' } },
      );
  }
}
