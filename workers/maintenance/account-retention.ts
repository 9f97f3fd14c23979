// Part of the hourly retention sweep (retention-sweep.ts): accounts nobody confirmed, and links
// long past any use.
//
//   unverified accounts   anyone can sign up any address, so an account whose address was never
//                         confirmed holds a stranger's address and name on a stranger's word. After
//                         UNVERIFIED_ACCOUNT_MAX_AGE_MS it is deleted like "delete my account" does
//                         (delete-account.ts): the user row, its effects and links by ON DELETE
//                         CASCADE, then its signup jobs still waiting in the outbox, and its erasure
//                         jobs written, in the same transaction, for the relay to send: what the
//                         providers hold of the person goes too. Jobs already in Valkey find no user
//                         and skip, as after any deletion. It also frees the address to be signed up
//                         again, by its owner.
//   expired links         an expired link still names its account, so its page can offer to mail a
//                         new one. A month after expiry nobody comes back with it; the row goes.
//
// Both in bounded batches, like the rest of the sweep. The users table has no index on these
// columns: one sequential scan an hour, which a table of a million users finishes in well under a
// second, is cheaper than an index every signup would write to.
import { writeOutbox } from '@/lib/outbox';
import { execute, isPool, query, sql, transaction, type Queryable } from '@/lib/sql';
import { ERASURE_JOBS, outboxEntry, sendGettingStartedEmail, SIGNUP_JOBS } from '@/workers/jobs/job-contracts';
import { inBatches } from '@/workers/maintenance/in-batches';

const DAY_MS = 24 * 60 * 60 * 1_000;

/**
 * A week: the email link lives two days and may be asked for again with waits of up to a quarter
 * of an hour, so a person who meant to sign up has had every chance to confirm.
 */
export const UNVERIFIED_ACCOUNT_MAX_AGE_MS = 7 * DAY_MS;

/** How long an expired link keeps its row, so its page can still offer to mail a new one. */
export const EXPIRED_LINK_KEEP_MS = 30 * DAY_MS;

export interface AccountRetentionOptions {
  unverifiedAccountMaxAgeMs: number;
  expiredLinkKeepMs: number;
  /** Rows per DELETE statement. */
  deleteBatchSize: number;
}

/** Deletes unverified accounts older than the limit, with their waiting signup jobs; returns how many. */
export async function purgeUnverifiedAccounts(
  pool: Queryable,
  { unverifiedAccountMaxAgeMs, deleteBatchSize }: AccountRetentionOptions,
): Promise<number> {
  return inBatches(deleteBatchSize, () => inOneTransaction(pool, (db) => purgeBatch(db, { unverifiedAccountMaxAgeMs, deleteBatchSize })));
}

/**
 * A pool's statements in a transaction of their own; a client's as they come, in the transaction
 * its caller holds (the tests', which roll back).
 */
function inOneTransaction<T>(db: Queryable, work: (db: Queryable) => Promise<T>): Promise<T> {
  return isPool(db) ? transaction(db, work) : work(db);
}

async function purgeBatch(
  pool: Queryable,
  { unverifiedAccountMaxAgeMs, deleteBatchSize }: Pick<AccountRetentionOptions, 'unverifiedAccountMaxAgeMs' | 'deleteBatchSize'>,
): Promise<number> {
  const gone = await query<{ id: string }>(pool, sql`
    DELETE FROM users
     WHERE id IN (
       SELECT id FROM users
        WHERE email_verified_at IS NULL
          AND created_at < now() - make_interval(secs => ${unverifiedAccountMaxAgeMs / 1_000}::float8)
        LIMIT ${deleteBatchSize})
    RETURNING id`);
  if (gone.length > 0) {
    // The deterministic ids of the signup's jobs, through the unique index, as delete-account.ts
    // finds them; a row the relay holds locked is waited for, and once dispatched no longer matches.
    const jobIds = gone.flatMap(({ id }) =>
      [...SIGNUP_JOBS, sendGettingStartedEmail].map((contract) => contract.jobId({ userId: id })),
    );
    await execute(pool, sql`DELETE FROM outbox_messages WHERE job_id = ANY(${jobIds}::text[]) AND dispatched_at IS NULL`);
    await writeOutbox(
      pool,
      gone.flatMap(({ id }) => ERASURE_JOBS.map((contract) => outboxEntry(contract, { userId: id }))),
    );
  }
  return gone.length;
}

/** Deletes links that expired longer ago than the keep; returns how many. */
export async function deleteExpiredLinks(
  pool: Queryable,
  { expiredLinkKeepMs, deleteBatchSize }: AccountRetentionOptions,
): Promise<number> {
  // The expires_at index finds them without a scan.
  return inBatches(deleteBatchSize, () =>
    execute(pool, sql`
      DELETE FROM access_tokens
       WHERE token_hash IN (
         SELECT token_hash FROM access_tokens
          WHERE expires_at < now() - make_interval(secs => ${expiredLinkKeepMs / 1_000}::float8)
          LIMIT ${deleteBatchSize})`),
  );
}
