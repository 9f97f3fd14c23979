// The transactional outbox. A signup writes its user and one outbox row per job in one database
// transaction; the jobs reach Valkey afterwards, either at once (the fast path in the request) or
// later through the relay (Valkey was down, or the web process died between commit and dispatch).
// Every row carries its job's deterministic id, so dispatching a row twice adds no second job.
import type { JobsOptions } from 'bullmq';
import type { Db } from '@/lib/db';
import { Prisma } from '@/lib/generated/prisma/client';
import { metrics } from '@/lib/metrics';
import type { QueueName, QueueSet } from '@/lib/queues';
import type { OutboxEntry } from '@/workers/define-job';
import { jobContract } from '@/workers/jobs';

export interface OutboxRow extends OutboxEntry {
  id: bigint;
}

type TransactionClient = Prisma.TransactionClient;

/** Inside the caller's transaction: records the jobs and returns the rows to dispatch after commit. */
export async function writeOutbox(tx: TransactionClient, entries: OutboxEntry[]): Promise<OutboxRow[]> {
  const rows = await tx.outboxMessage.createManyAndReturn({
    data: entries.map((entry) => ({
      queue: entry.queue,
      jobName: entry.jobName,
      jobId: entry.jobId,
      payload: entry.payload as Prisma.InputJsonObject,
    })),
    select: { id: true, queue: true, jobName: true, jobId: true, payload: true },
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
 * Adds the rows' jobs to Valkey. The adds run concurrently over one connection, so a signup's four
 * jobs cost about one round trip. Throws if Valkey refuses or misses the deadline; nothing is
 * marked then.
 */
export async function enqueueRows(queues: QueueSet, rows: OutboxRow[], deadlineMs = ENQUEUE_DEADLINE_MS): Promise<void> {
  const byQueue = new Map<QueueName, OutboxRow[]>();
  for (const row of rows) byQueue.set(row.queue, [...(byQueue.get(row.queue) ?? []), row]);
  const adds = Promise.all(
    [...byQueue].map(([queue, queueRows]) =>
      queues[queue].addBulk(
        queueRows.map((row) => ({
          name: row.jobName,
          data: row.payload,
          opts: { ...jobOptions(row.jobName), jobId: row.jobId },
        })),
      ),
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EnqueueTimeoutError(`Valkey did not take the jobs within ${deadlineMs} ms`)), deadlineMs);
  });
  // The losing add may still reject later; that is expected and must not surface as unhandled.
  adds.catch(() => undefined);
  try {
    await Promise.race([adds, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The fast path: enqueue, then mark dispatched. Returns false (rows left to the relay) on failure. */
export async function dispatchNow(db: Db, queues: QueueSet, rows: OutboxRow[]): Promise<boolean> {
  try {
    await enqueueRows(queues, rows);
  } catch {
    // Valkey is unreachable or slow: the rows stay pending and the relay sends them later.
    metrics().outboxDispatchFailures.inc({ path: 'fast' });
    return false;
  }
  await markDispatched(db, rows);
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
 * One relay step: claims the oldest pending rows that are at least `minAgeMs` old (younger ones
 * still belong to the fast path), in id order, with SKIP LOCKED so several relays never claim the
 * same row; enqueues them and marks them dispatched, or records the failed attempt.
 */
export async function relayPendingBatch(
  db: Db,
  queues: QueueSet,
  { batchSize, minAgeMs }: { batchSize: number; minAgeMs: number },
): Promise<RelayBatchResult> {
  return db.$transaction(
    async (tx) => {
      const claimed = await tx.$queryRaw<Array<{ id: bigint; queue: string; job_name: string; job_id: string; payload: unknown }>>`
        SELECT id, queue, job_name, job_id, payload
          FROM outbox_messages
         WHERE dispatched_at IS NULL
           AND created_at <= now() - make_interval(secs => ${minAgeMs / 1000}::float8)
         ORDER BY id
         LIMIT ${batchSize}
           FOR UPDATE SKIP LOCKED`;
      const rows = claimed.map((row) =>
        toOutboxRow({ id: row.id, queue: row.queue, jobName: row.job_name, jobId: row.job_id, payload: row.payload }),
      );
      if (rows.length === 0) return { claimed: 0, dispatched: 0 };
      try {
        await enqueueRows(queues, rows);
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

export async function pendingOutboxCount(db: Db): Promise<number> {
  return db.outboxMessage.count({ where: { dispatchedAt: null } });
}

function jobOptions(jobName: string): JobsOptions {
  const contract = jobContract(jobName);
  // A row whose job no longer exists still goes out, with defaults, so it fails visibly in the
  // queue instead of sitting in the outbox forever.
  return contract?.options ?? {};
}

function toOutboxRow(row: { id: bigint; queue: string; jobName: string; jobId: string; payload: unknown }): OutboxRow {
  return {
    id: row.id,
    queue: row.queue as QueueName,
    jobName: row.jobName,
    jobId: row.jobId,
    payload: row.payload as Record<string, unknown>,
  };
}
