// The producer. One transaction saves the user and one outbox row per job, so a committed signup
// can never lose a job; after commit the jobs go to Valkey at once if it answers, and otherwise
// wait in the outbox for the relay. Nothing here waits on a third party. Under overload the
// analytics event alone may be left out (analytics-shedding.ts); every other job is always written.
import 'server-only';
import { insertTokenSql, newToken } from '@/lib/access-tokens';
import { dispatchNow, fromSql, outboxInsertSql, type DispatchMarks, type OutboxSqlRow } from '@/lib/outbox';
import type { QueueSet } from '@/lib/queues';
import { execute, isUniqueViolation, sql, transactionInOneTrip, type Pool, type Queryable, type Sql } from '@/lib/sql';
import {
  jobOptions,
  pacedByTenant,
  outboxEntry,
  sendGettingStartedEmail,
  SIGNUP_JOBS,
  trackSignupEvent,
} from '@/workers/jobs/job-contracts';
import type { AnalyticsShedder } from '@/app/_signup/analytics-shedding';
import type { SignupInput } from '@/app/_signup/signup-input';

export type SignupOutcome =
  | { status: 'created'; userId: string; statusToken: string; dispatched: boolean }
  | { status: 'duplicate' }
  | { status: 'unavailable'; error: unknown };

/**
 * Saving may take at most this long, connection included, so a sick database is answered with 503
 * inside the 2 s the signup promises rather than a hanging request.
 */
const SAVE_BUDGET_MS = 1_500;

/**
 * The user and its status token, in one statement; `rest` is a statement of its own that joins
 * them (the outbox rows), or nothing. A taken address fails the whole statement.
 */
function insertUserSql(input: SignupInput, { userId, statusToken }: { userId: string; statusToken: string }, rest?: Sql): Sql {
  return sql`
    WITH new_user AS (
      INSERT INTO users (id, email, name, workspace)
      VALUES (${userId}::uuid, ${input.email}, ${input.name}, ${input.workspace ?? null})
    ), status_token AS (${insertTokenSql(sql`${userId}::uuid`, 'status', statusToken)})
    ${rest ?? sql`SELECT 1`}`;
}

/** The user alone, for the synchronous baseline, which has no outbox. */
export async function insertUser(db: Queryable, input: SignupInput, ids: { userId: string; statusToken: string }): Promise<void> {
  await execute(db, insertUserSql(input, ids));
}

export interface SignupProducerDeps {
  pool: Pool;
  queues: QueueSet;
  /** When the "getting started" email is due after the signup (FOLLOW_UP_DELAY_MS). */
  followUpDelayMs: number;
  /** Drops the analytics event while its queue is overloaded; without one every event is kept. */
  shedder?: AnalyticsShedder;
  /** Writes the dispatched marks behind the answer (lib/outbox.ts); without it, before. */
  marks?: DispatchMarks;
}

export async function createSignup(
  input: SignupInput,
  { pool, queues, followUpDelayMs, shedder, marks }: SignupProducerDeps,
): Promise<SignupOutcome> {
  const userId = crypto.randomUUID();
  const statusToken = newToken();
  // Decided before the statement, from memory: no Valkey call while it holds a connection.
  const keepAnalytics = shedder?.shouldKeep() ?? true;
  const jobs = keepAnalytics ? SIGNUP_JOBS : SIGNUP_JOBS.filter((contract) => contract.name !== trackSignupEvent.name);
  // The workspace is the jobs' tenant (lib/tenant-limits.ts); without one, each job is its own.
  const tenant = input.workspace ?? undefined;
  const entries = [
    ...jobs.map((contract) => outboxEntry(contract, { userId }, { tenant })),
    outboxEntry(sendGettingStartedEmail, { userId }, { tenant, availableAt: new Date(Date.now() + followUpDelayMs) }),
  ];
  let rows;
  try {
    // One statement writes the user, its status token and its outbox rows: all or none. In a
    // transaction of its own, sent in one round trip, whose timeout rolls back a statement the
    // database is too slow to finish in the budget.
    const [saved] = await transactionInOneTrip<[OutboxSqlRow[]]>(pool, SAVE_BUDGET_MS, [
      insertUserSql(input, { userId, statusToken }, outboxInsertSql(entries)),
    ]);
    rows = saved.map(fromSql);
  } catch (error) {
    if (isUniqueViolation(error)) return { status: 'duplicate' };
    return { status: 'unavailable', error };
  }
  if (!keepAnalytics) shedder?.countShed();

  let dispatched = false;
  try {
    dispatched = await dispatchNow(pool, { queues, jobOptions, pacedByTenant, marks }, rows);
  } catch {
    // The jobs reached Valkey but marking the rows failed (the database blinked after commit): the
    // relay re-dispatches them under the same job ids, which adds nothing twice.
  }
  return { status: 'created', userId, statusToken, dispatched };
}
