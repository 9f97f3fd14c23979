// Queues for a benchmark's own bookkeeping: adding its setup jobs, polling counts, reading jobs
// back. The stack's `queues` are the producers' (lib/valkey.ts: 500 ms per command, no offline
// queue), right for the app's own calls and wrong for reading 2,000 jobs back while other
// benchmarks load the machine. These share the stack's plain `probe` connection, which waits.
import { closeQueueSet, createQueueSet, type QueueSet } from '@/lib/queues';
import type { BenchStack } from '@/bench/harness/bench-stack';

export function patientQueues(stack: BenchStack): QueueSet {
  const queues = createQueueSet(stack.probe, stack.config.queuePrefix);
  stack.onClose(() => closeQueueSet(queues));
  return queues;
}
