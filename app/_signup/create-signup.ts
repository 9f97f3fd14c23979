// The producer. One transaction saves the user and one outbox row per job, so a committed signup
// can never lose a job; after commit the jobs go to Valkey at once if it answers, and otherwise
// wait in the outbox for the relay. Nothing here waits on a third party. Under overload the
// analytics event alone may be left out (analytics-shedding.ts); every other job is always written.
import 'server-only';
import { randomBytes } from 'node:crypto';
import { isUniqueViolation, type Db } from '@/lib/db';
import { dispatchNow, writeOutbox } from '@/lib/outbox';
import type { QueueSet } from '@/lib/queues';
import {
  jobOptions,
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

/** The user's status page; the token is its only key. */
export function statusPath(statusToken: string): string {
  return `/welcome/${statusToken}`;
}

/** 32 random bytes: unguessable, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Saving may take at most this long, connection included, so a sick database is answered with 503
 * inside the 2 s the signup promises rather than a hanging request.
 */
const SAVE_BUDGET_MS = 1_500;

export async function insertUser(
  db: Pick<Db, 'user'>,
  input: SignupInput,
  { userId, statusToken }: { userId: string; statusToken: string },
): Promise<void> {
  await db.user.create({
    data: {
      id: userId,
      email: input.email,
      name: input.name,
      workspace: input.workspace ?? null,
      statusToken,
      verifyToken: newToken(),
    },
  });
}

export interface SignupProducerDeps {
  db: Db;
  queues: QueueSet;
  /** When the "getting started" email is due after the signup (FOLLOW_UP_DELAY_MS). */
  followUpDelayMs: number;
  /** Drops the analytics event while its queue is overloaded; without one every event is kept. */
  shedder?: AnalyticsShedder;
}

export async function createSignup(
  input: SignupInput,
  { db, queues, followUpDelayMs, shedder }: SignupProducerDeps,
): Promise<SignupOutcome> {
  const userId = crypto.randomUUID();
  const statusToken = newToken();
  // Decided before the transaction, from memory: no Valkey call while it holds a connection.
  const keepAnalytics = shedder?.shouldKeep() ?? true;
  const jobs = keepAnalytics ? SIGNUP_JOBS : SIGNUP_JOBS.filter((contract) => contract.name !== trackSignupEvent.name);
  let rows;
  try {
    rows = await db.$transaction(
      async (tx) => {
        await insertUser(tx, input, { userId, statusToken });
        return writeOutbox(tx, [
          ...jobs.map((contract) => outboxEntry(contract, { userId })),
          outboxEntry(sendGettingStartedEmail, { userId }, { availableAt: new Date(Date.now() + followUpDelayMs) }),
        ]);
      },
      { maxWait: SAVE_BUDGET_MS, timeout: SAVE_BUDGET_MS },
    );
  } catch (error) {
    if (isUniqueViolation(error)) return { status: 'duplicate' };
    return { status: 'unavailable', error };
  }
  if (!keepAnalytics) shedder?.countShed();

  let dispatched = false;
  try {
    dispatched = await dispatchNow(db, { queues, jobOptions }, rows);
  } catch {
    // The jobs reached Valkey but marking the rows failed (the database blinked after commit): the
    // relay re-dispatches them under the same job ids, which adds nothing twice.
  }
  return { status: 'created', userId, statusToken, dispatched };
}
