// "Resend verification email" on the status page (its form action) and
// POST /api/welcome/<token>/verification-email; also "email me a new link" on a page whose link
// has expired or was used (the status page, app/verify/[token]). Each sends the account's own
// address an email with a fresh link (send-verification-email), never the person pressing.
//
// The per-user limit is one conditional UPDATE on users.verification_resent_at and link_requests,
// in the same transaction as the job's outbox row: two presses racing each other, in one web
// process or in ten, serialise on the user's row lock, and only the first passes the WHERE clause.
// The job goes to Valkey after commit, or later through the relay when Valkey is down, so an
// accepted press is never lost.
//
// Before that, each press spends from two budgets in Valkey shared by every web replica
// (lib/rate-budgets.ts): its client address's, and everyone's. The per-account waits stop one
// account being pressed; these stop one client pressing many throwaway accounts, and bound what all
// of them together can take of the email queue.
//
// Why not BullMQ's deduplication for the throttle: its key lives in Valkey, so it would forget
// every wait when Valkey is down or flushed, and the outbox would still hold one job per press.
// The limit has to hold where the press is recorded, in PostgreSQL. Deduplication does the other
// half (the job's contract): presses the waits let through while an earlier email still sits in a
// stuck queue add nothing, since that email mints its link when it goes
// (docs/backpressure.md#job-ids-or-deduplication).
import 'server-only';
import { tokenHash, type TokenPurpose } from '@/lib/access-tokens';
import type { Budgets } from '@/lib/rate-budgets';
import { dispatchNow, writeOutbox, type OutboxRow } from '@/lib/outbox';
import { errorSummary, type Logger } from '@/lib/log';
import type { QueueSet } from '@/lib/queues';
import { query, sql, transaction, type Pool, type Queryable } from '@/lib/sql';
import { jobOptions, outboxEntry, pacedByTenant, sendVerificationEmail } from '@/workers/jobs/job-contracts';

/**
 * The wait after the first request, doubling with each further request until a link is used
 * (1, 2, 4, 8 min, …): a person who deleted the first mail gets another at once, and one who
 * asks again soon after, a minute later; a script pressing for ever slows to one a day
 * (MAX_WAIT_SECONDS).
 */
export const RESEND_INTERVAL_SECONDS = 60;
export const MAX_WAIT_SECONDS = 24 * 60 * 60;

/**
 * Links an unverified account may ask for, after the welcome email: six emails in all to an
 * address nobody has confirmed, which is the most anyone can make us send to a stranger's inbox
 * by signing it up (a second signup of the address is refused; maintenance purges the account
 * after a week, workers/maintenance/account-retention.ts). A confirmed account has no cap, only
 * the growing waits: its owner proved the address is theirs.
 */
export const MAX_UNVERIFIED_LINK_REQUESTS = 5;

/**
 * Presses per client address in an hour: a person needs a handful, an office behind one address a
 * few dozen; a script pressing throwaway accounts from one address gets no further.
 */
export const LINK_REQUESTS_PER_ADDRESS_PER_HOUR = 30;

/**
 * Presses from everyone in a minute: 10 a second, an eighth of the email queue's 80/s, so however
 * many addresses press, new links take only a slice of the mail we send (they also wait behind
 * every welcome email, email-priorities.ts).
 */
export const LINK_REQUESTS_PER_MINUTE = 600;

/** Who pressed: the budgets to spend from and the client's address (lib/client-address.ts). */
export interface Asker {
  budgets: Budgets;
  client: string;
}

/** The transaction's budget, connection included: a sick database answers 503 within ~2 s. */
const WRITE_BUDGET_MS = 1_500;

export type ResendOutcome =
  /**
   * The request is saved; `dispatched` is false when Valkey was unreachable and the relay has it.
   * `nextAllowedInSeconds` is null when this was the last link an unverified account may ask for.
   * `jobId` is the press's own; no such job exists when the add was collapsed into the user's
   * email still waiting in the queue, which then serves this press.
   */
  | { status: 'sent'; userId: string; requestId: string; jobId: string; dispatched: boolean; nextAllowedInSeconds: number | null }
  | { status: 'too-soon'; retryAfterSeconds: number }
  /** The client's, or everyone's, budget of presses is spent for now. */
  | { status: 'busy'; retryAfterSeconds: number }
  | { status: 'limit-reached' }
  | { status: 'already-verified' }
  | { status: 'unknown-token' }
  | { status: 'unavailable'; error: unknown };

type Refusal = Exclude<ResendOutcome, { status: 'sent' } | { status: 'unavailable' }>;

/**
 * For the holder of `token` (a status token, or with `purpose: 'verify'` an email link): a live
 * status link asks for the verification email again, refused once the address is confirmed; an
 * expired status link or any email link asks for a new link, which goes out whatever the state.
 * With `asker`, the press first spends from its address's and everyone's budgets.
 */
export async function resendVerification(
  token: string,
  { pool, queues, asker }: { pool: Pool; queues: QueueSet; asker?: Asker },
  purpose: TokenPurpose = 'status',
): Promise<ResendOutcome> {
  if (asker) {
    const decision = await asker.budgets.take('link-request', [
      { key: `address:${asker.client}`, limit: LINK_REQUESTS_PER_ADDRESS_PER_HOUR, windowMs: 60 * 60 * 1_000 },
      { key: 'everyone', limit: LINK_REQUESTS_PER_MINUTE, windowMs: 60_000 },
    ]);
    if (!decision.allowed) return { status: 'busy', retryAfterSeconds: decision.retryAfterSeconds };
  }
  const hash = tokenHash(token);
  let result:
    | { refused: Refusal }
    | { accepted: { userId: string; requestId: string; rows: OutboxRow[]; nextWait: number | null } };
  try {
    result = await transaction(
      pool,
      async (client): Promise<typeof result> => {
        const claimed = await query<{ id: string; newLink: boolean; nextWait: number | null }>(client, sql`
          UPDATE users u
             SET verification_resent_at = now(), link_requests = u.link_requests + 1
            FROM access_tokens t
           WHERE t.token_hash = ${hash} AND t.purpose = ${purpose} AND t.user_id = u.id
             AND (${NEW_LINK} OR u.email_verified_at IS NULL)
             AND (u.email_verified_at IS NOT NULL OR u.link_requests < ${MAX_UNVERIFIED_LINK_REQUESTS})
             AND (u.verification_resent_at IS NULL OR u.verification_resent_at <= now() - ${WAIT})
          RETURNING u.id, ${NEW_LINK} AS "newLink",
                    CASE WHEN u.email_verified_at IS NULL AND u.link_requests >= ${MAX_UNVERIFIED_LINK_REQUESTS} THEN NULL
                         ELSE extract(epoch FROM ${WAIT})::int END AS "nextWait"`);
        const user = claimed[0];
        if (!user) return { refused: await whyRefused(client, hash, purpose) };
        const requestId = crypto.randomUUID();
        const payload = { userId: user.id, requestId, ...(user.newLink ? { reason: 'new-link' as const } : {}) };
        const rows = await writeOutbox(client, [outboxEntry(sendVerificationEmail, payload)]);
        return { accepted: { userId: user.id, requestId, rows, nextWait: user.nextWait } };
      },
      { statementTimeoutMs: WRITE_BUDGET_MS, deadlineMs: WRITE_BUDGET_MS },
    );
  } catch (error) {
    return { status: 'unavailable', error };
  }
  if ('refused' in result) return result.refused;

  const { userId, requestId, rows, nextWait } = result.accepted;
  let dispatched = false;
  try {
    dispatched = await dispatchNow(pool, { queues, jobOptions, pacedByTenant }, rows);
  } catch {
    // The job reached Valkey but marking the row failed: the relay dispatches it again under the
    // same job id, which adds nothing.
  }
  const jobId = sendVerificationEmail.jobId({ userId, requestId });
  return { status: 'sent', userId, requestId, jobId, dispatched, nextAllowedInSeconds: nextWait };
}

/** Over `access_tokens t`: the press asks for a new link rather than for the verification again. */
const NEW_LINK = sql`(t.purpose = 'verify' OR t.expires_at <= now())`;

/** Over `users u`: how long after the last request the next one may be made. */
const WAIT = sql`make_interval(secs => least(${RESEND_INTERVAL_SECONDS}::float8 * power(2, greatest(u.link_requests - 1, 0)), ${MAX_WAIT_SECONDS}::float8))`;

/**
 * Why the UPDATE matched nothing. Inside the same transaction, so now() is the same instant the
 * UPDATE compared against and the seconds left agree with the refusal.
 */
async function whyRefused(client: Queryable, hash: Buffer, purpose: TokenPurpose): Promise<Refusal> {
  const [user] = await query<{ verified: boolean; newLink: boolean; capped: boolean; secondsLeft: number | null }>(client, sql`
    SELECT u.email_verified_at IS NOT NULL AS verified, ${NEW_LINK} AS "newLink",
           u.email_verified_at IS NULL AND u.link_requests >= ${MAX_UNVERIFIED_LINK_REQUESTS} AS capped,
           ceil(extract(epoch FROM u.verification_resent_at + ${WAIT} - now()))::int AS "secondsLeft"
      FROM access_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = ${hash} AND t.purpose = ${purpose}`);
  if (!user) return { status: 'unknown-token' };
  if (user.verified && !user.newLink) return { status: 'already-verified' };
  if (user.capped) return { status: 'limit-reached' };
  // A press that waited on another's row lock can see that press's time a moment in the future.
  return { status: 'too-soon', retryAfterSeconds: Math.max(1, user.secondsLeft ?? 1) };
}

/** The words for a refusal, shared by the form actions and the JSON answer. */
export function refusalMessage(outcome: Refusal): string {
  switch (outcome.status) {
    case 'too-soon':
      return `We sent you a link a short while ago. You can ask again in ${waitInWords(outcome.retryAfterSeconds)}.`;
    case 'busy':
      return `Too many links were asked for just now. Please try again in ${waitInWords(outcome.retryAfterSeconds)}.`;
    case 'limit-reached':
      return 'We have sent this address all the links we will send before it is confirmed. Use the newest email you received from us.';
    case 'already-verified':
      return 'Your email address is already confirmed.';
    case 'unknown-token':
      return 'This account no longer exists.';
  }
}

function waitInWords(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 2 * 60 * 60) return `${Math.ceil(seconds / 60)} minutes`;
  return `${Math.ceil(seconds / 3_600)} hours`;
}

const NO_STORE = { 'cache-control': 'no-store' };

/** The HTTP answer for POST /api/welcome/<token>/verification-email; the route file only wires it. */
export async function handleResendVerificationRequest(
  statusToken: string,
  deps: { pool: Pool; queues: QueueSet; log: Logger; asker?: Asker },
): Promise<Response> {
  const outcome = await resendVerification(statusToken, deps);
  switch (outcome.status) {
    case 'sent':
      deps.log.info('verification email requested', { user: outcome.userId, dispatched: outcome.dispatched });
      return Response.json(
        { status: 'sent', nextAllowedInSeconds: outcome.nextAllowedInSeconds },
        { status: 202, headers: NO_STORE },
      );
    case 'too-soon':
    case 'busy':
      return Response.json(
        { error: refusalMessage(outcome), retryAfterSeconds: outcome.retryAfterSeconds },
        { status: 429, headers: { ...NO_STORE, 'retry-after': String(outcome.retryAfterSeconds) } },
      );
    case 'limit-reached':
      return Response.json({ error: refusalMessage(outcome) }, { status: 429, headers: NO_STORE });
    case 'already-verified':
      return Response.json({ error: refusalMessage(outcome) }, { status: 409, headers: NO_STORE });
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
