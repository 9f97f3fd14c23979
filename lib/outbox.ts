// The transactional outbox. A signup writes its user and one outbox row per job in one database
// transaction; the jobs reach Valkey afterwards, either at once (the fast path in the request) or
// later through the relay (Valkey was down, or the web process died between commit and dispatch).
// Every row carries its job's deterministic id, so dispatching a row twice adds no second job.
//
// The outbox knows jobs only by name. Their default options come from the job contracts
// (workers/jobs/job-contracts.ts, jobOptions), which stand above lib/, so whoever dispatches passes
// them in: the web's producers, the relay and the reconciler all pass the same lookup.
import type { JobsOptions } from 'bullmq';
import type { Db } from '@/lib/db';
import { withDeadline } from '@/lib/deadline';
import { Prisma } from '@/lib/generated/prisma/client';
import { metrics } from '@/lib/metrics';
import { jobIntervalMs, type QueueName, type QueueSet } from '@/lib/queues';
import { reserveTenantSlots } from '@/lib/tenant-pacer';

/** What the outbox stores for one job; plain JSON only (ids, never personal data). */
export interface OutboxEntry {
  queue: QueueName;
  jobName: string;
  jobId: string;
  payload: Record<string, unknown>;
  /** The workspace whose share of the queue the job uses, when its contract is paced by tenant. */
  tenant?: string | null;
  /** Not to run before this time; absent: now. */
  availableAt?: Date;
}

export interface OutboxRow extends OutboxEntry {
  id: bigint;
}

/** A job's default options by its name (the contracts' jobOptions). */
export type JobOptionsLookup = (jobName: string) => JobsOptions;

/** Where rows are dispatched to: the queues, and the options each job is added with. */
export interface Dispatch {
  queues: QueueSet;
  jobOptions: JobOptionsLookup;
}

type TransactionClient = Prisma.TransactionClient;

const OUTBOX_ROW_FIELDS = {
  id: true,
  queue: true,
  jobName: true,
  jobId: true,
  payload: true,
  tenant: true,
  availableAt: true,
} as const;

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

/** Inside the caller's transaction: records the jobs and returns the rows to dispatch after commit. */
export async function writeOutbox(tx: TransactionClient, entries: OutboxEntry[]): Promise<OutboxRow[]> {
  const rows = await tx.outboxMessage.createManyAndReturn({
    data: entries.map((entry) => ({
      queue: entry.queue,
      jobName: entry.jobName,
      jobId: entry.jobId,
      payload: entry.payload as Prisma.InputJsonObject,
      tenant: entry.tenant ?? null,
      availableAt: entry.availableAt,
    })),
    select: OUTBOX_ROW_FIELDS,
  });
  return rows.map(toOutboxRow);
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
 * then.
 */
export async function enqueueRows(
  { queues, jobOptions }: Dispatch,
  rows: OutboxRow[],
  deadlineMs = ENQUEUE_DEADLINE_MS,
): Promise<void> {
  const byQueue = groupBy(rows, (row) => row.queue);
  const adds = jobDelays(queues, rows).then((delays) =>
    Promise.all(
      [...byQueue].map(([queue, queueRows]) =>
        queues[queue].addBulk(
          queueRows.map((row) => ({
            name: row.jobName,
            data: row.payload,
            opts: { ...jobOptions(row.jobName), jobId: row.jobId, delay: delays.get(row) ?? 0 },
          })),
        ),
      ),
    ),
  );
  await withDeadline(adds, deadlineMs, () => new EnqueueTimeoutError(`Valkey did not take the jobs within ${deadlineMs} ms`));
}

/**
 * The fast path: enqueue the rows that are due soon, then mark them dispatched; rows due later are
 * the relay's when their time comes. Returns false (rows left to the relay) on failure.
 */
export async function dispatchNow(db: Db, dispatch: Dispatch, rows: OutboxRow[]): Promise<boolean> {
  const due = rows.filter((row) => isDueSoon(row));
  if (due.length === 0) return true;
  try {
    await enqueueRows(dispatch, due);
  } catch {
    // Valkey is unreachable or slow: the rows stay pending and the relay sends them later.
    metrics().outboxDispatchFailures.inc({ path: 'fast' });
    return false;
  }
  await markDispatched(db, due);
  return true;
}

export async function markDispatched(db: Db | TransactionClient, rows: OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.outboxMessage.updateMany({
    where: { id: { in: rows.map((row) => row.id) }, dispatchedAt: null },
    data: { dispatchedAt: new Date() },
  });
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
  db: Db,
  dispatch: Dispatch,
  { batchSize, minAgeMs }: { batchSize: number; minAgeMs: number },
): Promise<RelayBatchResult> {
  return db.$transaction(
    async (tx) => {
      const claimed = await tx.$queryRaw<OutboxSqlRow[]>`
        SELECT id, queue, job_name, job_id, payload, tenant, available_at
          FROM outbox_messages
         WHERE dispatched_at IS NULL
           AND available_at <= now() + make_interval(secs => ${DISPATCH_HORIZON_MS / 1000}::float8)
           AND created_at <= now() - make_interval(secs => ${minAgeMs / 1000}::float8)
         ORDER BY available_at, id
         LIMIT ${batchSize}
           FOR UPDATE SKIP LOCKED`;
      const rows = claimed.map(fromSql);
      if (rows.length === 0) return { claimed: 0, dispatched: 0 };
      try {
        await enqueueRows(dispatch, rows);
      } catch (cause) {
        const error = cause instanceof Error ? cause : new Error(String(cause));
        await tx.outboxMessage.updateMany({
          where: { id: { in: rows.map((row) => row.id) } },
          data: { dispatchAttempts: { increment: 1 }, lastError: error.message.slice(0, 1_000) },
        });
        return { claimed: rows.length, dispatched: 0, error };
      }
      await tx.outboxMessage.updateMany({
        where: { id: { in: rows.map((row) => row.id) } },
        data: { dispatchedAt: new Date(), dispatchAttempts: { increment: 1 } },
      });
      return { claimed: rows.length, dispatched: rows.length };
    },
    // The transaction holds row locks only for one Valkey round trip; this bounds a stuck one.
    { timeout: 15_000 },
  );
}

/**
 * Each row's delay: until its availableAt, and for work paced per tenant, until its slot on the
 * tenant's clock (lib/tenant-pacer.ts), whichever is later. Computed at every dispatch, so a row
 * relayed or re-enqueued late keeps its time instead of starting its delay over.
 */
async function jobDelays(queues: QueueSet, rows: OutboxRow[]): Promise<Map<OutboxRow, number>> {
  const now = Date.now();
  const delays = new Map<OutboxRow, number>();
  for (const row of rows) {
    if (row.availableAt) delays.set(row, Math.max(0, row.availableAt.getTime() - now));
  }
  const paced = groupBy(
    rows.filter((row) => row.tenant),
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

interface OutboxFields {
  id: bigint;
  queue: string;
  jobName: string;
  jobId: string;
  payload: unknown;
  tenant: string | null;
  availableAt: Date | null;
}

/** A row as Prisma returns it, for dispatching. */
export function toOutboxRow(row: OutboxFields): OutboxRow {
  return {
    id: row.id,
    queue: row.queue as QueueName,
    jobName: row.jobName,
    jobId: row.jobId,
    payload: row.payload as Record<string, unknown>,
    tenant: row.tenant,
    availableAt: row.availableAt ?? undefined,
  };
}

/** An outbox_messages row as raw SQL returns it (the relay and the reconciler query it by hand). */
export interface OutboxSqlRow {
  id: bigint;
  queue: string;
  job_name: string;
  job_id: string;
  payload: unknown;
  tenant: string | null;
  available_at: Date | null;
}

export function fromSql(row: OutboxSqlRow): OutboxRow {
  return toOutboxRow({
    id: row.id,
    queue: row.queue,
    jobName: row.job_name,
    jobId: row.job_id,
    payload: row.payload,
    tenant: row.tenant,
    availableAt: row.available_at,
  });
}
