// How a job's effect is found in PostgreSQL. Every job records what it did under a unique key
// (welcome_emails.user_id, sent_emails.job_id, …); its contract declares which table, column and key
// (workers/jobs/define-job.ts), and everything that asks "is this job done?" derives the question
// from that declaration: the reconciler's candidate query, the status page, the idempotency suite.
// So a new job is one declaration, not three hand-written checks that can disagree.
import { join, query, raw, sql, type Queryable, type Sql } from '@/lib/sql';

/** The tables effects are recorded in, with the unique column a job's key is looked up by. */
export const EFFECT_TABLES = {
  welcome_emails: ['user_id'],
  crm_contacts: ['user_id'],
  avatars: ['user_id'],
  analytics_events: ['event_id'],
  sent_emails: ['job_id'],
  // One row per erasure job: what it deleted at its provider after the account was deleted.
  erasures: ['job_id'],
} as const satisfies Record<string, readonly string[]>;

export type EffectTable = keyof typeof EFFECT_TABLES;

/**
 * Where the key's value comes from: the job's own id, or a field of its payload (with a fixed
 * prefix, as in `user_signed_up-<userId>`). `uuid` says the column is a uuid: the value is cast,
 * and a payload that does not hold one finds no effect instead of failing the query.
 */
export type EffectKey = { from: 'job-id' } | { from: 'payload'; field: string; prefix?: string; uuid?: boolean };

export interface JobEffect<Table extends EffectTable = EffectTable> {
  table: Table;
  column: (typeof EFFECT_TABLES)[Table][number];
  key: EffectKey;
}

const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/** The key's value for one job, as the handler records it. */
export function effectKeyValue(effect: JobEffect, job: { jobId: string; payload: Record<string, unknown> }): string {
  if (effect.key.from === 'job-id') return job.jobId;
  return `${effect.key.prefix ?? ''}${String(job.payload[effect.key.field] ?? '')}`;
}

/**
 * SQL that is true when the job's effect row exists. `job` gives the job id and the payload (jsonb)
 * as SQL expressions: columns of an outbox row in the reconciler, bound values on the status page.
 * Table and column names come from the declarations above, never from input.
 */
export function effectExistsSql(effect: JobEffect, job: { jobId: Sql; payload: Sql }): Sql {
  const columns: readonly string[] = EFFECT_TABLES[effect.table];
  if (!columns.includes(effect.column)) throw new Error(`${effect.table}.${effect.column} is not an effect key`);
  return sql`EXISTS (SELECT 1 FROM ${raw(effect.table)} e WHERE e.${raw(effect.column)} = ${keySql(effect.key, job)})`;
}

function keySql(key: EffectKey, job: { jobId: Sql; payload: Sql }): Sql {
  if (key.from === 'job-id') return job.jobId;
  const field = sql`(${job.payload}->>${key.field}::text)`;
  if (key.uuid) return sql`(CASE WHEN ${field} ~* ${UUID_PATTERN}::text THEN ${field}::uuid END)`;
  return key.prefix ? sql`(${key.prefix}::text || ${field})` : field;
}

/** What appliedEffects needs of a job contract. */
export interface EffectfulJob {
  name: string;
  effect: JobEffect;
  jobId(payload: Record<string, unknown>): string;
}

/** SQL that is true when this job's effect row exists: the job's id and payload bound as values. */
export function effectAppliedSql(job: EffectfulJob, payload: Record<string, unknown>): Sql {
  return effectExistsSql(job.effect, { jobId: sql`${job.jobId(payload)}::text`, payload: sql`${JSON.stringify(payload)}::jsonb` });
}

/**
 * Whether each job's effect exists for one payload (the status page: one user's jobs), in one
 * statement, by the same declarations the reconciler checks.
 */
export async function appliedEffects(
  db: Queryable,
  jobs: readonly EffectfulJob[],
  payload: Record<string, unknown>,
): Promise<Map<string, boolean>> {
  if (jobs.length === 0) return new Map();
  const checks = jobs.map((job) => effectAppliedSql(job, payload));
  const [row] = await query<{ applied: boolean[] }>(db, sql`SELECT ARRAY[${join(checks)}] AS applied`);
  return new Map(jobs.map((job, index) => [job.name, row?.applied[index] === true]));
}
