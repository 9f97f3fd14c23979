// The transactional outbox. A signup writes its user and one outbox row per job in one database
// transaction; the jobs reach Valkey afterwards, either at once (the fast path in the request) or
// later through the relay (Valkey was down, or the web process died between commit and dispatch).
// Every row carries its job's deterministic id, so dispatching a row twice adds no second job.
//
// The outbox knows jobs only by name. Their default options come from the job contracts
// (workers/jobs/job-contracts.ts, jobOptions), which stand above lib/, so whoever dispatches passes
// them in: the web's producers, the relay and the reconciler all pass the same lookup.
import type { JobsOptions } from 'bullmq';
import { withDeadline } from '@/lib/deadline';
import { metrics } from '@/lib/metrics';
import { jobIntervalMs, type QueueName, type QueueSet } from '@/lib/queues';
import { execute, query, sql, transaction, type Pool, type Queryable, type Sql } from '@/lib/sql';
import { reserveTenantSlots } from '@/lib/tenant-pacer';
import { activeTraceContext, inSpan, linksTo, redispatchSpans } from '@/lib/tracing';

/** What the outbox stores for one job; plain JSON only (ids, never personal data). */
export interface OutboxEntry {
  queue: QueueName;
  jobName: string;
  jobId: string;
  payload: Record<string, unknown>;
  /**
   * The workspace whose share of the queue the job uses (lib/tenant-limits.ts); absent, the job is
   * its own subject's tenant. Travels in the job's data as `tenant`.
   */
  tenant?: string | null;
  /** Not to run before this time; absent: now. */
  availableAt?: Date;
}

export interface OutboxRow extends OutboxEntry {
  id: bigint;
  /**
   * The W3C trace context active when the row was written (lib/tracing.ts, activeTraceContext);
   * null when nothing was traced. Whoever dispatches the row later joins its job to that trace.
   */
  traceContext?: string | null;
}

/**
 * A job's options by its name (the contracts' jobOptions): its defaults and, given the payload,
 * its deduplication.
 */
export type JobOptionsLookup = (jobName: string, payload?: Record<string, unknown>) => JobsOptions;

/** Where rows are dispatched to: the queues, and the options each job is added with. */
export interface Dispatch {
  queues: QueueSet;
  jobOptions: JobOptionsLookup;
  /** Whether a job is paced on its tenant's clock at dispatch (the contracts' pacedByTenant). */
  pacedByTenant: (jobName: string) => boolean;
  /**
   * Where the fast path's dispatched marks go: written behind the caller and together. Without
   * it, dispatchNow writes the mark itself before it returns.
   */
  marks?: DispatchMarks;
}

/**
 * How far ahead of its time a row is handed to Valkey. Later work stays in PostgreSQL (the system
 * of record, on disk, cheap per row) and costs Valkey no memory: three days of follow-up emails at
 * 100 signups/s would be 26 million delayed jobs. A minute is many relay polls (one a second), so
 * BullMQ's own delay, exact to the millisecond, still decides the moment a job runs.
 */
export const DISPATCH_HORIZON_MS = 60_000;

/** True when the row is due within the horizon and so belongs in Valkey now. */
export function isDueSoon(row: Pick<OutboxRow, 'availableAt'>, now = Date.now()): boolean {
  return !row.availableAt || row.availableAt.getTime() <= now + DISPATCH_HORIZON_MS;
}

/**
 * The INSERT of the entries' rows, returning them: one statement whatever their number, so a
 * producer can run it alone in its transaction or inside a statement of its own (a signup writes
 * its user and its rows in one). Each row keeps the trace active now, in the same statement.
 */
export function outboxInsertSql(entries: readonly OutboxEntry[]): Sql {
  return sql`
    INSERT INTO outbox_messages (queue, job_name, job_id, payload, tenant, available_at, trace_context)
    SELECT queue, job_name, job_id, payload, tenant, coalesce(available_at, now()), ${activeTraceContext()}::text
      FROM unnest(${entries.map((entry) => entry.queue)}::text[],
                  ${entries.map((entry) => entry.jobName)}::text[],
                  ${entries.map((entry) => entry.jobId)}::text[],
                  ${entries.map((entry) => JSON.stringify(entry.payload))}::jsonb[],
                  ${entries.map((entry) => entry.tenant ?? null)}::text[],
                  ${entries.map((entry) => entry.availableAt ?? null)}::timestamptz[])
           AS entry(queue, job_name, job_id, payload, tenant, available_at)
    RETURNING ${OUTBOX_COLUMNS}`;
}

/** Inside the caller's transaction: records the jobs and returns the rows to dispatch after commit. */
export async function writeOutbox(client: Queryable, entries: readonly OutboxEntry[]): Promise<OutboxRow[]> {
  if (entries.length === 0) return [];
  return (await query<OutboxSqlRow>(client, outboxInsertSql(entries))).map(fromSql);
}

/**
 * How long adding a batch may take before the caller gives up and leaves it to the relay: the
 * producer connection's command timeout (lib/valkey.ts). Adds normally take about a millisecond.
 * A connection that has never connected (Valkey was down when the process started) makes BullMQ
 * wait for it with no timeout of its own, so the deadline is what keeps a signup from hanging. An
 * add that lands after the deadline is harmless: the relay's later dispatch reuses the job ids.
 */
export const ENQUEUE_DEADLINE_MS = 500;

export class EnqueueTimeoutError extends Error {
  override name = 'EnqueueTimeoutError';
}

/**
 * Adds the rows' jobs to Valkey. The adds run concurrently over one connection, so a signup's jobs
 * cost about one round trip. Throws if Valkey refuses or misses the deadline; nothing is marked
 * then. With `continueTracesAs`, each job's spans continue its row's stored trace, under a producer
 * span named after the dispatcher (redispatchRows); without it the jobs join the active trace.
 */
export async function enqueueRows(
  { queues, jobOptions, pacedByTenant }: Dispatch,
  rows: OutboxRow[],
  { deadlineMs = ENQUEUE_DEADLINE_MS, continueTracesAs }: { deadlineMs?: number; continueTracesAs?: string } = {},
): Promise<void> {
  const traced = continueTracesAs ? redispatchSpans(continueTracesAs, 'continue', rows) : undefined;
  const metadata = new Map(rows.map((row, index) => [row, traced?.metadata[index]]));
  const byQueue = groupBy(rows, (row) => row.queue);
  const adds = jobDelays(queues, rows, pacedByTenant).then((delays) =>
    Promise.all(
      [...byQueue].map(([queue, queueRows]) =>
        queues[queue].addBulk(
          queueRows.map((row) => ({
            name: row.jobName,
            data: row.tenant ? { ...row.payload, tenant: row.tenant } : row.payload,
            opts: {
              ...jobOptions(row.jobName, row.payload),
              jobId: row.jobId,
              delay: delays.get(row) ?? 0,
              ...telemetryOf(metadata.get(row)),
            },
          })),
        ).then((jobs) => countDeduplicated(queue, queueRows, jobs)),
      ),
    ),
  );
  try {
    await withDeadline(adds, deadlineMs, () => new EnqueueTimeoutError(`Valkey did not take the jobs within ${deadlineMs} ms`));
  } catch (error) {
    traced?.end(error);
    throw error;
  }
  traced?.end();
}

/** BullMQ carries `metadata` in the job (as `tm`) and starts the job's consumer span from it. */
function telemetryOf(metadata: string | undefined): { telemetry?: { metadata: string } } {
  return metadata ? { telemetry: { metadata } } : {};
}

/**
 * Adds rows whose request is long over, for the relay or the reconciler. Their work is still the
 * request's, so each job continues its row's stored trace; the dispatcher's span, covering rows of
 * many requests, is a trace of its own, linked to each row's (docs/architecture.md#one-trace-per-signup).
 */
export function redispatchRows(dispatch: Dispatch, rows: OutboxRow[], by: 'relay' | 'reconciler'): Promise<void> {
  return inSpan(
    `outbox ${by}`,
    { root: true, links: linksTo(rows.map((row) => row.traceContext)), attributes: { 'outbox.rows': rows.length } },
    () => enqueueRows(dispatch, rows, { continueTracesAs: by }),
  );
}

/**
 * The fast path: enqueue the rows that are due soon, then mark them dispatched; rows due later are
 * the relay's when their time comes. Returns false (rows left to the relay) on failure.
 */
export async function dispatchNow(db: Queryable, dispatch: Dispatch, rows: OutboxRow[]): Promise<boolean> {
  const due = rows.filter((row) => isDueSoon(row));
  if (due.length === 0) return true;
  try {
    await enqueueRows(dispatch, due);
  } catch {
    // Valkey is unreachable or slow: the rows stay pending and the relay sends them later.
    metrics().outboxDispatchFailures.inc({ path: 'fast' });
    return false;
  }
  if (dispatch.marks) dispatch.marks.add(due);
  else await markDispatched(db, due);
  return true;
}

/** How long the fast path's marks gather before they are written, in one statement. */
export const MARK_EVERY_MS = 100;

/**
 * The fast path's dispatched marks, written behind the answer and together. A mark is the relay's
 * bookkeeping, not the signup's guarantee: by the time it is made the rows are committed and their
 * jobs are in Valkey. So the producer does not wait for it, and every mark made within
 * MARK_EVERY_MS shares one UPDATE: at 100 signups/s, ten statements a second instead of a hundred,
 * and one round trip fewer in each request. A mark never written (the process died first, the
 * database failed the UPDATE) leaves its rows pending; the relay takes them once they are older
 * than its minimum age (seconds, against this tenth of a second) and adds them again under the
 * same job ids, which adds nothing twice.
 */
export class DispatchMarks {
  private pending: OutboxRow[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Queryable,
    private readonly everyMs = MARK_EVERY_MS,
  ) {}

  add(rows: readonly OutboxRow[]): void {
    this.pending.push(...rows);
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.everyMs);
    // Pending marks never keep a process alive; the relay stands behind them.
    this.timer.unref();
  }

  /** Writes every pending mark now; what a clean shutdown calls. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.pending;
    this.pending = [];
    try {
      await markDispatched(this.db, rows);
    } catch {
      metrics().outboxMarksUnwritten.inc(rows.length);
    }
  }
}

export async function markDispatched(db: Queryable, rows: OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  await execute(db, sql`
    UPDATE outbox_messages SET dispatched_at = now()
     WHERE id = ANY(${rows.map((row) => row.id.toString())}::bigint[]) AND dispatched_at IS NULL`);
}

export interface RelayBatchResult {
  claimed: number;
  dispatched: number;
  error?: Error;
}

/**
 * One relay step: claims the pending rows that fell due first (or fall due within the horizon)
 * and are at least `minAgeMs` old (younger ones still belong to the fast path), with SKIP LOCKED
 * so several relays never claim the same row; enqueues them and marks them dispatched, or records
 * the failed attempt.
 */
export async function relayPendingBatch(
  pool: Pool,
  dispatch: Dispatch,
  { batchSize, minAgeMs }: { batchSize: number; minAgeMs: number },
): Promise<RelayBatchResult> {
  return transaction(pool, async (client) => {
    const claimed = await query<OutboxSqlRow>(client, sql`
      SELECT ${OUTBOX_COLUMNS}
        FROM outbox_messages
       WHERE dispatched_at IS NULL
         AND available_at <= now() + make_interval(secs => ${DISPATCH_HORIZON_MS / 1000}::float8)
         AND created_at <= now() - make_interval(secs => ${minAgeMs / 1000}::float8)
       ORDER BY available_at, id
       LIMIT ${batchSize}
         FOR UPDATE SKIP LOCKED`);
    const rows = claimed.map(fromSql);
    if (rows.length === 0) return { claimed: 0, dispatched: 0 };
    const ids = rows.map((row) => row.id.toString());
    try {
      await redispatchRows(dispatch, rows, 'relay');
    } catch (cause) {
      const error = cause instanceof Error ? cause : new Error(String(cause));
      await execute(client, sql`
        UPDATE outbox_messages SET dispatch_attempts = dispatch_attempts + 1, last_error = ${error.message.slice(0, 1_000)}
         WHERE id = ANY(${ids}::bigint[])`);
      return { claimed: rows.length, dispatched: 0, error };
    }
    await execute(client, sql`
      UPDATE outbox_messages SET dispatched_at = now(), dispatch_attempts = dispatch_attempts + 1
       WHERE id = ANY(${ids}::bigint[])`);
    return { claimed: rows.length, dispatched: rows.length };
  });
}

/**
 * Each row's delay: until its availableAt, and for work paced per tenant, until its slot on the
 * tenant's clock (lib/tenant-pacer.ts), whichever is later. Computed at every dispatch, so a row
 * relayed or re-enqueued late keeps its time instead of starting its delay over.
 */
async function jobDelays(
  queues: QueueSet,
  rows: OutboxRow[],
  pacedByTenant: Dispatch['pacedByTenant'],
): Promise<Map<OutboxRow, number>> {
  const now = Date.now();
  const delays = new Map<OutboxRow, number>();
  for (const row of rows) {
    if (row.availableAt) delays.set(row, Math.max(0, row.availableAt.getTime() - now));
  }
  const paced = groupBy(
    rows.filter((row) => row.tenant && pacedByTenant(row.jobName)),
    (row) => `${row.queue}\u0000${row.tenant}`,
  );
  await Promise.all(
    [...paced.values()].map(async (tenantRows) => {
      const { queue, tenant } = tenantRows[0] as OutboxRow & { tenant: string };
      const slots = await reserveTenantSlots(queues[queue], tenant, tenantRows.length, jobIntervalMs(queue));
      tenantRows.forEach((row, index) => delays.set(row, Math.max(delays.get(row) ?? 0, slots[index] ?? 0)));
    }),
  );
  return delays;
}

/**
 * Counts the adds BullMQ collapsed into a job already queued under their deduplication id, from
 * what the add returned, so counting costs no round trip: a collapsed add answers with the id of
 * the job it joined, any other add with its own (an id that exists already is answered with
 * itself). Holds for the deduplication modes the contracts use; under `replace` it is the
 * earlier, delayed job that gives way, and the add answers with its own id.
 */
function countDeduplicated(queue: QueueName, rows: readonly OutboxRow[], jobs: ReadonlyArray<{ id?: string }>): void {
  rows.forEach((row, index) => {
    if (jobs[index]?.id !== row.jobId) metrics().jobsDeduplicated.inc({ queue, job: row.jobName });
  });
}

function groupBy<Key>(rows: OutboxRow[], keyOf: (row: OutboxRow) => Key): Map<Key, OutboxRow[]> {
  const groups = new Map<Key, OutboxRow[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return groups;
}

/** The columns an outbox row is read back with. */
export const OUTBOX_COLUMNS = sql`id, queue, job_name, job_id, payload, tenant, available_at, trace_context`;

/** An outbox_messages row as SQL returns it (pg gives bigint columns as strings). */
export interface OutboxSqlRow {
  id: string | bigint;
  queue: string;
  job_name: string;
  job_id: string;
  payload: unknown;
  tenant: string | null;
  available_at: Date | null;
  /** Absent from queries that do not select it: their rows carry no trace. */
  trace_context?: string | null;
}

export function fromSql(row: OutboxSqlRow): OutboxRow {
  return {
    id: BigInt(row.id),
    queue: row.queue as QueueName,
    jobName: row.job_name,
    jobId: row.job_id,
    payload: row.payload as Record<string, unknown>,
    tenant: row.tenant,
    availableAt: row.available_at ?? undefined,
    traceContext: row.trace_context ?? null,
  };
}
