// Where each outbox row's job ended, read from PostgreSQL by the same effect declarations the
// reconciler uses (lib/job-effects.ts): done (its effect row), skipped on purpose (job_outcomes),
// dead-lettered, owed to nobody (its user or invitation is gone), or none of these yet.
import { QUEUE_PROVIDERS, type QueueName } from '@/lib/queues';
import { effectExistsSql } from '@/lib/job-effects';
import { join, query, raw, sql, type Queryable } from '@/lib/sql';
import { ALL_JOBS, ERASURE_JOBS } from '@/workers/jobs/job-contracts';

export type RowState = 'undispatched' | 'done' | 'skipped' | 'dead-lettered' | 'owed to nobody' | 'unaccounted';

export interface AccountedRow {
  jobId: string;
  jobName: string;
  queue: string;
  state: RowState;
  skipReason?: string;
  deadLetters: Array<{ lastError: string; kind: string; failedAt: string; firstFailedAt: string; resolution: string | null }>;
}

interface SqlRow {
  job_id: string;
  job_name: string;
  queue: string;
  dispatched: boolean;
  done: boolean;
  skip_reason: string | null;
  owner_gone: boolean;
  dead_letters: AccountedRow['deadLetters'] | null;
}

const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

const effectApplied = sql`CASE o.job_name ${join(
  ALL_JOBS.map((contract) => {
    const effect = effectExistsSql(contract.effect, { jobId: raw('o.job_id'), payload: raw('o.payload') });
    const served = contract.deduplication?.servedSql({ userId: raw('o.user_id'), since: raw('o.created_at') });
    return sql`WHEN ${contract.name} THEN (${effect}${served ? sql` OR ${served}` : sql``})`;
  }),
  ' ',
)} ELSE false END`;

export async function accountOutbox(db: Queryable): Promise<AccountedRow[]> {
  const rows = await query<SqlRow>(db, sql`
    WITH o AS (
      SELECT m.*,
             CASE WHEN m.payload->>'userId' ~* ${UUID_PATTERN} THEN (m.payload->>'userId')::uuid END AS user_id,
             CASE WHEN m.payload->>'invitationId' ~* ${UUID_PATTERN} THEN (m.payload->>'invitationId')::uuid END AS invitation_id
        FROM outbox_messages m
    )
    SELECT o.job_id, o.job_name, o.queue, o.dispatched_at IS NOT NULL AS dispatched,
           ${effectApplied} AS done,
           (SELECT jo.reason FROM job_outcomes jo WHERE jo.job_id = o.job_id) AS skip_reason,
           (o.job_name <> ALL(${ERASURE_JOBS.map((contract) => contract.name)}::text[])
            AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id)
            AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.id = o.invitation_id)) AS owner_gone,
           (SELECT json_agg(json_build_object('lastError', d.last_error, 'kind', d.kind, 'failedAt', d.failed_at,
                                              'firstFailedAt', d.first_failed_at, 'resolution', d.resolution) ORDER BY d.id)
              FROM dead_letters d WHERE d.job_id = o.job_id) AS dead_letters
      FROM o
     ORDER BY o.id`);
  return rows.map((row) => {
    const deadLetters = row.dead_letters ?? [];
    const state: RowState = !row.dispatched
      ? 'undispatched'
      : row.done
        ? 'done'
        : row.skip_reason !== null
          ? 'skipped'
          : deadLetters.some((letter) => letter.resolution === null || letter.resolution === 'discarded')
            ? 'dead-lettered'
            : row.owner_gone
              ? 'owed to nobody'
              : 'unaccounted';
    return {
      jobId: row.job_id,
      jobName: row.job_name,
      queue: row.queue,
      state,
      ...(row.skip_reason !== null ? { skipReason: row.skip_reason } : {}),
      deadLetters,
    };
  });
}

/** The provider a queue's jobs call, which a provider fault must name to explain a dead letter. */
export function providerOfQueue(queue: string): string | undefined {
  return (QUEUE_PROVIDERS as Record<string, string>)[queue as QueueName];
}
