// The outbox relay: dispatches what the signup's fast path left behind (Valkey was down, or the web
// process died between commit and dispatch). It runs inside every worker process; SKIP LOCKED lets
// several relays share the table without claiming the same row, and deterministic job ids make a
// repeated dispatch harmless. While Valkey stays down it backs off, so an outage is not met with a
// storm of reconnects (lib/poll-loop.ts).
import { errorSummary, type Logger } from '@/lib/log';
import { metrics } from '@/lib/metrics';
import { relayPendingBatch } from '@/lib/outbox';
import { startPollLoop, type PollLoop } from '@/lib/poll-loop';
import type { QueueSet } from '@/lib/queues';
import type { Pool } from '@/lib/sql';
import { jobOptions, pacedByTenant } from '@/workers/jobs/job-contracts';

export interface OutboxRelayOptions {
  /** Rows per claim; one addBulk per queue per batch. */
  batchSize?: number;
  /** Rows younger than this still belong to the signup's own fast path. */
  minAgeMs?: number;
  /** Poll interval while the outbox is empty. */
  idleMs?: number;
  /** Ceiling of the backoff while Valkey or the database fails. */
  maxBackoffMs?: number;
}

export function startOutboxRelay(
  { pool, queues, log }: { pool: Pool; queues: QueueSet; log: Logger },
  { batchSize = 200, minAgeMs = 2_000, idleMs = 1_000, maxBackoffMs = 10_000 }: OutboxRelayOptions = {},
): PollLoop {
  return startPollLoop({
    idleMs,
    maxBackoffMs,
    async pass() {
      const result = await relayPendingBatch(pool, { queues, jobOptions, pacedByTenant }, { batchSize, minAgeMs });
      if (result.error) throw result.error;
      if (result.dispatched > 0) log.info('outbox rows dispatched', { count: result.dispatched });
      // A full batch means more are waiting: go again at once.
      return result.claimed === batchSize ? 'again' : 'idle';
    },
    onFailure(error, failures, waitMs) {
      metrics().outboxDispatchFailures.inc({ path: 'relay' });
      log.warn('outbox relay failed; backing off', { failures, waitMs: Math.round(waitMs), error: errorSummary(error) });
    },
    onRecovery: (failures) => log.info('outbox relay recovered', { afterFailures: failures }),
  });
}
