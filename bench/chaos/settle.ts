// The settle phase: after every fault is healed, wait until the system has nothing left to do:
// every outbox row dispatched and accounted for (the reconciler has put back what Valkey lost), and
// no job waiting, delayed, prioritized or running in any queue; three polls in a row, so a
// retry's delay expiring between two polls is not mistaken for the end.
import { setTimeout as sleep } from 'node:timers/promises';
import { QUEUE_NAMES } from '@/lib/config';
import type { ChaosStack } from './chaos-stack';
import { accountOutbox } from './outbox-accounting';

const POLL_EVERY_MS = 1_000;
const QUIET_POLLS = 3;
const PROGRESS_EVERY_MS = 10_000;

export interface SettleResult {
  settled: boolean;
  /** Ms since the soak started. */
  settledAt: number;
  /** What was still pending at the last poll, when it did not settle. */
  pending: string;
}

export async function settle(stack: ChaosStack, { startedAt, deadlineMs, log }: { startedAt: number; deadlineMs: number; log: (line: string) => void }): Promise<SettleResult> {
  const deadline = Date.now() + deadlineMs;
  let quiet = 0;
  let pending = 'not polled yet';
  let lastProgress = 0;
  while (Date.now() < deadline) {
    try {
      const counts = await Promise.all(
        QUEUE_NAMES.map(async (queue) => {
          const byState = await stack.queues[queue].getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
          return [queue, Object.values(byState).reduce((sum, count) => sum + count, 0)] as const;
        }),
      );
      const rows = await accountOutbox(stack.pool);
      const unfinished = rows.filter((row) => row.state === 'undispatched' || row.state === 'unaccounted');
      const busy = counts.filter(([, count]) => count > 0);
      pending = `${busy.map(([queue, count]) => `${queue} ${count}`).join(', ') || 'queues empty'}; ${unfinished.length} outbox rows not yet accounted for`;
      quiet = busy.length === 0 && unfinished.length === 0 ? quiet + 1 : 0;
      if (quiet >= QUIET_POLLS) return { settled: true, settledAt: Date.now() - startedAt, pending: '' };
    } catch (error) {
      quiet = 0;
      pending = `could not read the state: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = Date.now();
      log(`settling: ${pending}`);
    }
    await sleep(POLL_EVERY_MS);
  }
  return { settled: false, settledAt: Date.now() - startedAt, pending };
}
