// The outbox relay: dispatches what the signup's fast path left behind (Valkey was down, or the web
// process died between commit and dispatch). It runs inside every worker process; SKIP LOCKED lets
// several relays share the table without claiming the same row, and deterministic job ids make a
// repeated dispatch harmless. While Valkey stays down it backs off, so an outage is not met with a
// storm of reconnects.
import type { Db } from '@/lib/db';
import type { Logger } from '@/lib/log';
import { metrics } from '@/lib/metrics';
import { relayPendingBatch } from '@/lib/outbox';
import type { QueueSet } from '@/lib/queues';
import { jobOptions } from '@/workers/jobs/job-contracts';

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
  { db, queues, log }: { db: Db; queues: QueueSet; log: Logger },
  { batchSize = 200, minAgeMs = 2_000, idleMs = 1_000, maxBackoffMs = 10_000 }: OutboxRelayOptions = {},
): { stop(): Promise<void> } {
  const stopping = new AbortController();
  let failures = 0;

  const loop = async () => {
    while (!stopping.signal.aborted) {
      let wait = idleMs;
      try {
        const result = await relayPendingBatch(db, { queues, jobOptions }, { batchSize, minAgeMs });
        if (result.error) throw result.error;
        if (result.dispatched > 0) log.info('outbox rows dispatched', { count: result.dispatched });
        if (failures > 0) log.info('outbox relay recovered', { afterFailures: failures });
        failures = 0;
        // A full batch means more are waiting: go again at once.
        if (result.claimed === batchSize) wait = 0;
      } catch (error) {
        failures += 1;
        metrics().outboxDispatchFailures.inc({ path: 'relay' });
        // Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"): relays in several
        // processes spread out instead of retrying in lockstep.
        wait = Math.random() * Math.min(maxBackoffMs, idleMs * 2 ** failures);
        log.warn('outbox relay failed; backing off', {
          failures,
          waitMs: Math.round(wait),
          error: error instanceof Error ? error.message : String(error),
        });
      }
      await sleep(wait, stopping.signal);
    }
  };
  const running = loop();

  return {
    async stop() {
      stopping.abort();
      await running;
    },
  };
}

/** Waits `ms`, or less if `signal` fires; leaves no listener behind either way. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const wake = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal.addEventListener('abort', wake, { once: true });
  });
}
