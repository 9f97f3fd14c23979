// Reading and acting on dead letters: list with filters, replay, discard. Used by the admin API.
//
// Replay re-adds a dead letter's job under its original id with fresh attempts. The ids are spread
// over time (REPLAY_PER_SECOND, like SQS's redrive velocity), so replaying 10,000 cannot flood a
// provider that has only just recovered. Replay stays idempotent: the handler's
// read-and-validate finds an effect that already exists and completes without a second one.
// Every replay and discard is written to dead_letter_actions (who, what, when, why).
import 'server-only';
import type { Db } from '@/lib/db';
import { Prisma } from '@/lib/generated/prisma/client';
import type { QueueName, QueueSet } from '@/lib/queues';
import { QUEUE_NAMES } from '@/lib/queues';
import { jobOptions } from '@/workers/jobs/job-contracts';

export interface DeadLetterFilter {
  queue?: QueueName;
  /** Case-insensitive substring of the last error. */
  errorContains?: string;
  failedAfter?: Date;
  failedBefore?: Date;
  /** Resolved ones (replayed, discarded) too; by default only those still waiting for a person. */
  includeResolved?: boolean;
  /** Keyset pagination: rows with a smaller id than this. */
  beforeId?: bigint;
  limit?: number;
}

export const MAX_PAGE = 100;
/** addBulk in chunks: one round trip per chunk, bounded memory per call. */
const REPLAY_CHUNK = 500;

export function listDeadLetters(db: Db, filter: DeadLetterFilter) {
  return db.deadLetter.findMany({
    where: {
      queue: filter.queue,
      lastError: filter.errorContains ? { contains: filter.errorContains, mode: 'insensitive' } : undefined,
      failedAt: { gte: filter.failedAfter, lte: filter.failedBefore },
      resolution: filter.includeResolved ? undefined : null,
      id: filter.beforeId === undefined ? undefined : { lt: filter.beforeId },
    },
    orderBy: { id: 'desc' },
    take: Math.min(Math.max(filter.limit ?? 50, 1), MAX_PAGE),
  });
}

export type DeadLetterSelection = { ids: bigint[] } | { queue: QueueName };

export interface ReplayResult {
  replayed: number;
  /** Already replayed or discarded, or unknown ids. */
  skipped: number;
  /** When the last replayed job becomes due. */
  lastDueInMs: number;
}

export async function replayDeadLetters(
  db: Db,
  queues: QueueSet,
  selection: DeadLetterSelection,
  { actor, perSecond, note }: { actor: string; perSecond: number; note?: string },
): Promise<ReplayResult> {
  // Claim first: two replays racing for the same rows cannot both enqueue them.
  const rows = await db.deadLetter.updateManyAndReturn({
    where: { resolution: null, ...('ids' in selection ? { id: { in: selection.ids } } : { queue: selection.queue }) },
    data: { resolution: 'replayed', resolvedAt: new Date(), resolvedBy: actor, resolutionNote: note ?? null },
  });
  rows.sort((a, b) => (a.id < b.id ? -1 : 1));
  const requested = 'ids' in selection ? selection.ids.length : rows.length;
  const spacingMs = 1_000 / perSecond;

  let enqueued = 0;
  try {
    for (; enqueued < rows.length; enqueued += REPLAY_CHUNK) {
      const chunk = rows.slice(enqueued, enqueued + REPLAY_CHUNK);
      for (const queue of QUEUE_NAMES) {
        const mine = chunk
          .map((row, index) => ({ row, delay: Math.round((enqueued + index) * spacingMs) }))
          .filter(({ row }) => row.queue === queue);
        if (mine.length === 0) continue;
        // The failed job still holds the id; it must go before the id can be added again.
        await Promise.all(mine.map(({ row }) => removeIfFailed(queues, queue, row.jobId)));
        await queues[queue].addBulk(
          mine.map(({ row, delay }) => ({
            name: row.jobName,
            data: row.payload as Record<string, unknown>,
            opts: { ...jobOptions(row.jobName), jobId: row.jobId, delay },
          })),
        );
      }
    }
  } catch (error) {
    // Valkey failed midway: what was not enqueued goes back to waiting for a person. Rows of the
    // failed chunk may have been enqueued; replaying them again adds nothing (same job ids).
    await db.deadLetter.updateMany({
      where: { id: { in: rows.slice(enqueued).map((row) => row.id) } },
      data: { resolution: null, resolvedAt: null, resolvedBy: null, resolutionNote: null },
    });
    throw error;
  }

  await audit(db, 'replay', actor, selection, rows.map((row) => row.id), note);
  return {
    replayed: rows.length,
    skipped: requested - rows.length,
    lastDueInMs: rows.length === 0 ? 0 : Math.round((rows.length - 1) * spacingMs),
  };
}

export async function discardDeadLetters(
  db: Db,
  ids: bigint[],
  { actor, reason }: { actor: string; reason: string },
): Promise<{ discarded: number }> {
  const rows = await db.deadLetter.updateManyAndReturn({
    where: { id: { in: ids }, resolution: null },
    data: { resolution: 'discarded', resolvedAt: new Date(), resolvedBy: actor, resolutionNote: reason },
    select: { id: true },
  });
  await audit(db, 'discard', actor, { ids }, rows.map((row) => row.id), reason);
  return { discarded: rows.length };
}

export function deadLetterActions(db: Db, limit = 50) {
  return db.deadLetterAction.findMany({ orderBy: { id: 'desc' }, take: Math.min(limit, MAX_PAGE) });
}

async function removeIfFailed(queues: QueueSet, queue: QueueName, jobId: string): Promise<void> {
  const job = await queues[queue].getJob(jobId);
  if (job && (await job.getState()) === 'failed') await job.remove();
}

async function audit(
  db: Db,
  action: 'replay' | 'discard',
  actor: string,
  selection: DeadLetterSelection,
  ids: bigint[],
  note?: string,
) {
  await db.deadLetterAction.create({
    data: {
      action,
      actor,
      queue: 'queue' in selection ? selection.queue : null,
      deadLetterIds: ids.map(String) as Prisma.InputJsonArray,
      count: ids.length,
      note: note ?? null,
    },
  });
}
