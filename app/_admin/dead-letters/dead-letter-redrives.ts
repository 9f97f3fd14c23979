// Redrives: replaying every unresolved dead letter a filter matches (lib/dead-letter-filter.ts).
// The web previews, starts, pauses, resumes and cancels them; the workers run the batches
// (workers/maintenance/dead-letter-redrive.ts). All state is the dead_letter_redrives row, and
// every change is one conditional UPDATE, so any web replica may make it and two cannot both win.
// At most one redrive is running or paused at a time (docs/failure-model.md#redrives).
import 'server-only';
import { matchingDeadLetters, type DeadLetterMatch } from '@/lib/dead-letter-filter';
import { query, sql, transaction, type Pool, type Queryable } from '@/lib/sql';

export type RedriveStatus = 'running' | 'paused' | 'cancelled' | 'done';
export type RedriveChange = 'pause' | 'resume' | 'cancel';
export const REDRIVE_CHANGES: readonly RedriveChange[] = ['pause', 'resume', 'cancel'];

export interface Redrive {
  id: string;
  filter: DeadLetterMatch;
  status: RedriveStatus;
  total: number;
  replayed: number;
  perSecond: number;
  startedBy: string;
  changedBy: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface RedrivePreview {
  matching: number;
  /** The newest few, so a person can check the filter caught what they meant. */
  examples: Array<{ id: string; queue: string; jobName: string; lastError: string; failedAt: string }>;
}

const EXAMPLES = 5;
/** Serialises starts across web replicas: the check for a running redrive and the insert are one step. */
const START_LOCK = sql`SELECT pg_advisory_xact_lock(hashtext('dead_letter_redrives.start'))`;

export async function previewRedrive(db: Queryable, match: DeadLetterMatch): Promise<RedrivePreview> {
  const where = matchingDeadLetters(match);
  const [[counted], examples] = await Promise.all([
    query<{ matching: number }>(db, sql`SELECT count(*)::int AS matching FROM dead_letters WHERE ${where}`),
    query<{ id: string; queue: string; job_name: string; last_error: string; failed_at: Date }>(db, sql`
      SELECT id, queue, job_name, left(last_error, 200) AS last_error, failed_at
        FROM dead_letters WHERE ${where} ORDER BY id DESC LIMIT ${EXAMPLES}`),
  ]);
  return {
    matching: counted?.matching ?? 0,
    examples: examples.map((row) => ({
      id: row.id,
      queue: row.queue,
      jobName: row.job_name,
      lastError: row.last_error,
      failedAt: row.failed_at.toISOString(),
    })),
  };
}

export type StartResult = { started: Redrive } | { refused: 'active'; active: Redrive } | { refused: 'nothing' };

/** Starts a redrive of what matches now; refused while another runs or is paused, or when nothing matches. */
export async function startRedrive(
  pool: Pool,
  match: DeadLetterMatch,
  { actor, perSecond }: { actor: string; perSecond: number },
): Promise<StartResult> {
  return transaction(pool, async (client) => {
    await query(client, START_LOCK);
    const [active] = await query<RedriveRow>(client, sql`
      SELECT * FROM dead_letter_redrives WHERE status IN ('running', 'paused') ORDER BY id LIMIT 1`);
    if (active) return { refused: 'active', active: toRedrive(active) };
    const [scope] = await query<{ total: number; last_id: string | null }>(client, sql`
      SELECT count(*)::int AS total, max(id) AS last_id FROM dead_letters WHERE ${matchingDeadLetters(match)}`);
    if (!scope || scope.total === 0 || scope.last_id === null) return { refused: 'nothing' };
    const [row] = await query<RedriveRow>(client, sql`
      INSERT INTO dead_letter_redrives (filter, status, total, last_id, per_second, started_by)
      VALUES (${JSON.stringify(match)}::jsonb, 'running', ${scope.total}, ${scope.last_id}::bigint, ${perSecond}, ${actor})
      RETURNING *`);
    return { started: toRedrive(row as RedriveRow) };
  });
}

export type ChangeResult = { changed: Redrive } | { refused: 'unknown' } | { refused: 'status'; current: Redrive };

/**
 * Pause (running → paused), resume (paused → running, next batch now) or cancel (running or paused
 * → cancelled). A batch in flight holds the row, so a pause or cancel answers once it committed, and
 * no further batch starts. Letters a cancelled redrive did not reach stay unresolved.
 */
export async function changeRedrive(db: Queryable, id: bigint, change: RedriveChange, actor: string): Promise<ChangeResult> {
  const [row] = await query<RedriveRow>(db, changeSql(id, change, actor));
  if (row) return { changed: toRedrive(row) };
  const current = await findRedrive(db, id);
  return current ? { refused: 'status', current } : { refused: 'unknown' };
}

function changeSql(id: bigint, change: RedriveChange, actor: string) {
  switch (change) {
    case 'pause':
      return sql`UPDATE dead_letter_redrives SET status = 'paused', changed_by = ${actor}, updated_at = now()
                  WHERE id = ${id} AND status = 'running' RETURNING *`;
    case 'resume':
      return sql`UPDATE dead_letter_redrives SET status = 'running', changed_by = ${actor}, updated_at = now(), next_batch_at = now()
                  WHERE id = ${id} AND status = 'paused' RETURNING *`;
    case 'cancel':
      return sql`UPDATE dead_letter_redrives SET status = 'cancelled', changed_by = ${actor}, updated_at = now(), finished_at = now()
                  WHERE id = ${id} AND status IN ('running', 'paused') RETURNING *`;
  }
}

export async function findRedrive(db: Queryable, id: bigint): Promise<Redrive | undefined> {
  const [row] = await query<RedriveRow>(db, sql`SELECT * FROM dead_letter_redrives WHERE id = ${id}`);
  return row && toRedrive(row);
}

/** The running or paused one first, then the newest. */
export async function recentRedrives(db: Queryable, limit = 10): Promise<Redrive[]> {
  const rows = await query<RedriveRow>(db, sql`
    SELECT * FROM dead_letter_redrives
     ORDER BY (status IN ('running', 'paused')) DESC, id DESC
     LIMIT ${Math.min(Math.max(limit, 1), 100)}`);
  return rows.map(toRedrive);
}

interface RedriveRow {
  id: string;
  filter: DeadLetterMatch;
  status: RedriveStatus;
  total: number;
  replayed: number;
  per_second: number;
  started_by: string;
  changed_by: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

function toRedrive(row: RedriveRow): Redrive {
  return {
    id: String(row.id),
    filter: row.filter,
    status: row.status,
    total: row.total,
    replayed: row.replayed,
    perSecond: row.per_second,
    startedBy: row.started_by,
    changedBy: row.changed_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
  };
}
