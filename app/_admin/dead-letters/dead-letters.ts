// Reading and acting on dead letters: list with filters, replay, discard. Used by the admin API.
//
// Replay re-adds a dead letter's job under its original id with fresh attempts. The ids are spread
// over time (REPLAY_PER_SECOND, like SQS's redrive velocity, through lib/dead-letter-replay.ts,
// which the workers' redrives share), so replaying 10,000 cannot flood a provider that has only
// just recovered. Replay stays idempotent: the handler's
// read-and-validate finds an effect that already exists and completes without a second one.
// Every replay and discard is written to dead_letter_actions (who, what, when, why).
import 'server-only';
import type { Db } from '@/lib/db';
import { Prisma } from '@/lib/generated/prisma/client';
import { ReplayInterruptedError, requeueDeadLetters } from '@/lib/dead-letter-replay';
import { fingerprintOfDeadLetter, type FailureFingerprint } from '@/lib/failure-fingerprint';
import type { QueueName, QueueSet } from '@/lib/queues';
import { jobOptions } from '@/workers/jobs/job-contracts';

export interface DeadLetterFilter {
  queue?: QueueName;
  /** Case-insensitive substring of the last error. */
  errorContains?: string;
  failedAfter?: Date;
  failedBefore?: Date;
  /** A failure fingerprint (lib/failure-fingerprint.ts). */
  fingerprint?: string;
  /** 'failed' or 'cancelled'; both by default. */
  kind?: 'failed' | 'cancelled';
  /** Resolved ones (replayed, discarded) too; by default only those still waiting for a person. */
  includeResolved?: boolean;
  /** Keyset pagination: rows with a smaller id than this. */
  beforeId?: bigint;
  limit?: number;
}

export const MAX_PAGE = 100;

export function listDeadLetters(db: Db, filter: DeadLetterFilter) {
  return db.deadLetter.findMany({
    where: {
      queue: filter.queue,
      lastError: filter.errorContains ? { contains: filter.errorContains, mode: 'insensitive' } : undefined,
      failedAt: { gte: filter.failedAfter, lte: filter.failedBefore },
      fingerprint: filter.fingerprint,
      kind: filter.kind,
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

  try {
    await requeueDeadLetters(queues, rows, { jobOptions, spacingMs });
  } catch (error) {
    if (!(error instanceof ReplayInterruptedError)) throw error;
    // Valkey failed midway: what was not enqueued goes back to waiting for a person. Rows of the
    // failed chunk may have been enqueued; replaying them again adds nothing (same job ids).
    await db.deadLetter.updateMany({
      where: { id: { in: rows.slice(error.enqueued).map((row) => row.id) } },
      data: { resolution: null, resolvedAt: null, resolvedBy: null, resolutionNote: null },
    });
    throw error.cause;
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

export interface FailureGroup extends FailureFingerprint {
  count: number;
  lastFailedAt: Date;
}

/** The unresolved dead letters per failure fingerprint, most first: one row per way of failing. */
export async function failureGroups(db: Db, limit = 8): Promise<FailureGroup[]> {
  const groups = await db.deadLetter.groupBy({
    by: ['fingerprint'],
    where: { resolution: null, fingerprint: { not: null } },
    _count: { _all: true },
    _max: { id: true, failedAt: true },
    orderBy: [{ _count: { fingerprint: 'desc' } }, { fingerprint: 'asc' }],
    take: limit,
  });
  const ids = groups.flatMap((group) => (group._max.id === null ? [] : [group._max.id]));
  const samples = await db.deadLetter.findMany({ where: { id: { in: ids } }, select: { id: true, queue: true, lastError: true, stackTrace: true } });
  return groups.flatMap((group) => {
    const sample = samples.find((row) => row.id === group._max.id);
    if (!sample || !group.fingerprint || !group._max.failedAt) return [];
    // The label is recomputed from the newest letter; the stored fingerprint is what is filtered on.
    return [{ ...fingerprintOfDeadLetter(sample), fingerprint: group.fingerprint, count: group._count._all, lastFailedAt: group._max.failedAt }];
  });
}

export function deadLetterActions(db: Db, limit = 50) {
  return db.deadLetterAction.findMany({ orderBy: { id: 'desc' }, take: Math.min(limit, MAX_PAGE) });
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
