// Valkey's memory recorded while a signup run goes on (bench/valkey-memory.ts): a checkpoint
// (used memory, DBSIZE and the jobs still waiting per queue) the first time the signups that every
// queue has finished pass each share of the run, and a progress line every 10 s. Both read the
// stack's plain probe connection and the producers' queues; neither blocks the run.
import type { Redis } from 'ioredis';
import type { QueueName } from '@/lib/config';
import { QUEUE_NAMES, type QueueSet } from '@/lib/queues';
import { waitFor } from '@/tests/helpers/test-stack';
import { formatBytes, memorySnapshot, type MemorySnapshot } from '@/bench/valkey-keyspace';

/** Shares of the run at which used_memory is recorded: 10k, 25k, 50k, 75k and 100k of 100k. */
const CHECKPOINT_SHARES = [0.1, 0.25, 0.5, 0.75, 1];
const PROGRESS_EVERY_MS = 10_000;

export type PerQueue = Record<QueueName, number>;

export type Checkpoint = { at: number; processed: number; elapsedS: number; waiting: PerQueue } & MemorySnapshot;

/** Where the run stands, read at each tick. */
export interface RunProgress {
  signups: number;
  /** Signups created so far. */
  created(): number;
  /** Jobs that reached their end so far, per queue. */
  finished(): PerQueue;
  /** Signups every queue has finished: the fewest jobs finished on any queue. */
  processed(): number;
  elapsedS(): number;
}

export interface MemoryCheckpoints {
  /** In the order taken, one per share of the run. */
  taken: Checkpoint[];
  /** Resolves once the last checkpoint is taken. */
  allTaken(): Promise<void>;
  /** Stops both timers. */
  stop(): void;
}

export function recordMemoryCheckpoints(probe: Redis, queues: QueueSet, run: RunProgress): MemoryCheckpoints {
  const taken: Checkpoint[] = [];
  const thresholds = CHECKPOINT_SHARES.map((share) => Math.round(run.signups * share));
  let sampling = false;
  const checkpointTimer = setInterval(() => {
    const next = thresholds[taken.length];
    if (sampling || next === undefined || run.processed() < next) return;
    sampling = true;
    const at = { at: next, processed: run.processed(), elapsedS: run.elapsedS() };
    void Promise.all([memorySnapshot(probe), waitingCounts(queues)])
      .then(([memory, waiting]) => {
        taken.push({ ...at, waiting, ...memory });
        console.log(`checkpoint ${next.toLocaleString('en')} processed: used_memory ${memory.usedMemoryHuman}, ${memory.dbsize} keys`);
      })
      .catch((error: unknown) => console.error('checkpoint failed', error))
      .finally(() => (sampling = false));
  }, 100);
  const progressTimer = setInterval(() => {
    void memorySnapshot(probe).then((memory) => {
      const finished = run.finished();
      const done = QUEUE_NAMES.map((queue) => `${queue} ${finished[queue]}`).join(', ');
      const rate = run.created() / Math.max(1, run.elapsedS());
      console.log(
        `[${run.elapsedS().toFixed(0).padStart(5)} s] signups ${run.created()}/${run.signups} (${rate.toFixed(0)}/s) | completed ${done} | used_memory ${memory.usedMemoryHuman}, ${memory.dbsize} keys | bench rss ${formatBytes(process.memoryUsage.rss())}`,
      );
    }, (error: unknown) => console.error('progress failed', error));
  }, PROGRESS_EVERY_MS);
  return {
    taken,
    allTaken: () => waitFor(() => taken.length === thresholds.length, { what: 'the last checkpoint' }).then(() => undefined),
    stop() {
      clearInterval(checkpointTimer);
      clearInterval(progressTimer);
    },
  };
}

/** Jobs not yet started per queue: waiting, prioritized and delayed. */
async function waitingCounts(queues: QueueSet): Promise<PerQueue> {
  const counts = await Promise.all(QUEUE_NAMES.map((queue) => queues[queue].getJobCounts('waiting', 'prioritized', 'delayed')));
  return Object.fromEntries(
    QUEUE_NAMES.map((queue, index) => [queue, Object.values(counts[index] ?? {}).reduce((a, b) => a + b, 0)]),
  ) as PerQueue;
}
