// What the throughput scenarios share: counting jobs to their end per queue as workers report them,
// rates with their units, adding a backlog in bounded chunks, and closing with a deadline.
import type { Logger } from '@/lib/log';
import type { QueueLimiter } from '@/lib/queues';

/** addBulk per round trip: a few hundred kilobytes per command, never a multi-second one. */
export const ADD_BULK_CHUNK = 1_000;

/**
 * High enough never to be reached: the throughput scenarios measure the machinery, not the
 * providers' quotas (their stacks run the mocks unlimited too).
 */
export const LIFTED_LIMITER: QueueLimiter = { max: 100_000, duration: 1_000 };

/** Workers under measurement log nothing: 8,000 lines to the terminal would be measured too. */
export const silentLog: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export interface QueueTally {
  /** Jobs expected to reach an end (completed, or failed with no retry left). */
  expected: number;
  completed: number;
  /** Failed for good: dead-lettered. */
  failed: number;
  /** Failed attempts that BullMQ will retry. */
  retried: number;
  /** Epoch ms of this queue's last end, or undefined while none has ended. */
  lastEndAt?: number;
}

export interface CompletionTracker {
  completed(queue: string): void;
  failed(queue: string, final: boolean): void;
  /** Resolves once every queue reached its expected count; rejects past the deadline. */
  finished(deadlineMs: number): Promise<void>;
  tallies(): Record<string, QueueTally>;
}

/**
 * Counts what the workers' `completed` and `failed` events report, per queue. Events, not polling:
 * a poll would add commands to the server being measured.
 */
export function completionTracker(expected: Record<string, number>): CompletionTracker {
  const tallies: Record<string, QueueTally> = Object.fromEntries(
    Object.entries(expected).map(([queue, count]) => [queue, { expected: count, completed: 0, failed: 0, retried: 0 }]),
  );
  let resolve: () => void = () => undefined;
  const done = new Promise<void>((settle) => {
    resolve = settle;
  });
  const settledIfDone = () => {
    if (Object.values(tallies).every((tally) => tally.completed + tally.failed >= tally.expected)) resolve();
  };
  const tallyOf = (queue: string) => {
    const tally = tallies[queue];
    if (!tally) throw new Error(`no expected count for queue ${queue}`);
    return tally;
  };
  settledIfDone();
  return {
    completed(queue) {
      const tally = tallyOf(queue);
      tally.completed += 1;
      tally.lastEndAt = Date.now();
      settledIfDone();
    },
    failed(queue, final) {
      const tally = tallyOf(queue);
      if (!final) {
        tally.retried += 1;
        return;
      }
      tally.failed += 1;
      tally.lastEndAt = Date.now();
      settledIfDone();
    },
    async finished(deadlineMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const state = Object.entries(tallies)
            .map(([queue, tally]) => `${queue} ${tally.completed + tally.failed}/${tally.expected}`)
            .join(', ');
          reject(new Error(`jobs not finished within ${Math.round(deadlineMs / 1_000)} s: ${state}`));
        }, deadlineMs);
      });
      try {
        await Promise.race([done, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    tallies: () => tallies,
  };
}

/** Jobs per second over a span of milliseconds. */
export function perSecond(count: number, spanMs: number): number {
  return spanMs > 0 ? (count * 1_000) / spanMs : Number.NaN;
}

/** 12,345 / 1,234 / 12.3: rates to three significant figures or whole numbers. */
export function rate(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toPrecision(3);
}

export function percent(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(0)}%` : 'n/a';
}

/** Adds `jobs` in chunks, one chunk in flight at a time; returns the milliseconds it took. */
export async function addInChunks<T>(
  queue: { addBulk(jobs: T[]): Promise<unknown> },
  jobs: T[],
  chunk = ADD_BULK_CHUNK,
): Promise<number> {
  const started = performance.now();
  for (let at = 0; at < jobs.length; at += chunk) await queue.addBulk(jobs.slice(at, at + chunk));
  return performance.now() - started;
}

/** Runs `task` for each item with at most `parallel` in flight. */
export async function inParallel<T>(items: readonly T[], parallel: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, lane));
}

/** Waits for `closing` at most `deadlineMs`: a close that hangs must not hang the benchmark. */
export async function withinDeadline(closing: Promise<unknown>, deadlineMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    closing.catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    }),
  ]);
  clearTimeout(timer);
}
