// Putting claimed dead letters back on their queues: the one replay path, shared by the admin's
// replays (app/_admin/dead-letters/dead-letters.ts) and the workers' redrive batches
// (workers/maintenance/dead-letter-redrive.ts). Each job goes back under its original id with its
// contract's options (fresh attempts), spaced `spacingMs` apart so a recovering provider is not
// flooded. Like lib/outbox.ts it knows jobs only by name: the caller passes the contracts' options.
// A replay is a person's decision, so it runs in the replay's own trace, each job linked to the
// trace it failed in (docs/architecture.md#one-trace-per-signup).
import type { JobOptionsLookup } from '@/lib/outbox';
import type { QueueName, QueueSet } from '@/lib/queues';
import { QUEUE_NAMES } from '@/lib/queues';
import { sql, type Sql } from '@/lib/sql';
import { inSpan, linksTo, redispatchSpans } from '@/lib/tracing';

export interface ReplayableLetter {
  id: bigint | string;
  queue: string;
  jobName: string;
  jobId: string;
  payload: unknown;
  /**
   * The job's options as the dead letter recorded them. Their telemetry.metadata, which BullMQ
   * keeps in every job traced, names the trace the job failed in; the replay links to it.
   */
  options?: unknown;
}

/** addBulk in chunks: one round trip per chunk, bounded memory per call. */
const REPLAY_CHUNK = 500;

/**
 * Adds `letters` (in the order given) to their queues, the n-th delayed by (firstIndex + n) ×
 * spacingMs. Throws on the first Valkey failure with `enqueued` on the error: the letters before
 * that chunk are queued, the rest are not. Adding one twice adds nothing (same job id).
 */
export async function requeueDeadLetters(
  queues: QueueSet,
  letters: readonly ReplayableLetter[],
  options: { jobOptions: JobOptionsLookup; spacingMs: number; firstIndex?: number },
): Promise<void> {
  // Under the operator's request, or a redrive batch's own trace.
  const traced = letters.map((letter) => ({ ...letter, traceContext: failedTraceOf(letter.options) }));
  await inSpan(
    'dead-letter replay',
    { links: linksTo(traced.map((letter) => letter.traceContext)), attributes: { 'replay.jobs': letters.length } },
    () => requeueTraced(queues, traced, options),
  );
}

async function requeueTraced(
  queues: QueueSet,
  letters: ReadonlyArray<ReplayableLetter & { traceContext: string | null }>,
  { jobOptions, spacingMs, firstIndex = 0 }: { jobOptions: JobOptionsLookup; spacingMs: number; firstIndex?: number },
): Promise<void> {
  for (let start = 0; start < letters.length; start += REPLAY_CHUNK) {
    const chunk = letters.slice(start, start + REPLAY_CHUNK);
    try {
      for (const queue of QUEUE_NAMES) {
        const mine = chunk
          .map((letter, index) => ({ letter, delay: Math.round((firstIndex + start + index) * spacingMs) }))
          .filter(({ letter }) => letter.queue === queue);
        if (mine.length === 0) continue;
        // The failed job still holds the id; it must go before the id can be added again.
        await Promise.all(mine.map(({ letter }) => removeIfFailed(queues, queue, letter.jobId)));
        const spans = redispatchSpans('replay', 'link', mine.map(({ letter }) => letter));
        await queues[queue]
          .addBulk(
            mine.map(({ letter, delay }, index) => {
              const metadata = spans.metadata[index];
              return {
                name: letter.jobName,
                data: letter.payload as Record<string, unknown>,
                opts: { ...jobOptions(letter.jobName), jobId: letter.jobId, delay, ...(metadata ? { telemetry: { metadata } } : {}) },
              };
            }),
          )
          .then(
            () => spans.end(),
            (error: unknown) => {
              spans.end(error);
              throw error;
            },
          );
      }
    } catch (error) {
      throw new ReplayInterruptedError(start, { cause: error });
    }
  }
}

/** Valkey failed midway; the first `enqueued` letters were added, those of the failed chunk maybe. */
export class ReplayInterruptedError extends Error {
  override name = 'ReplayInterruptedError';
  constructor(
    readonly enqueued: number,
    options: { cause: unknown },
  ) {
    super(`replay interrupted after ${enqueued} jobs: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
  }
}

/** The audit row every replay writes to dead_letter_actions: who, which ids, why. */
export function replayAuditSql({ actor, queue, ids, note }: { actor: string; queue: string | null; ids: readonly (bigint | string)[]; note: string | null }): Sql {
  return sql`
    INSERT INTO dead_letter_actions (action, actor, queue, dead_letter_ids, count, note)
    VALUES ('replay', ${actor}, ${queue}, ${JSON.stringify(ids.map(String))}::jsonb, ${ids.length}, ${note})`;
}

/** The trace context BullMQ kept in the failed job's options (`telemetry.metadata`), if any. */
function failedTraceOf(options: unknown): string | null {
  const metadata = (options as { telemetry?: { metadata?: unknown } } | null | undefined)?.telemetry?.metadata;
  return typeof metadata === 'string' ? metadata : null;
}

async function removeIfFailed(queues: QueueSet, queue: QueueName, jobId: string): Promise<void> {
  const job = await queues[queue].getJob(jobId);
  if (job && (await job.getState()) === 'failed') await job.remove();
}
