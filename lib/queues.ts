// The four queues, partitioned by workload so a slow avatar render never sits in front of an email.
// Every key carries a hash tag per queue (`signup:{email}:email:wait`), so each queue's keys live in
// one Valkey Cluster slot and BullMQ's multi-key scripts never cross slots.
import { Queue } from 'bullmq';
import type { Valkey } from '@/lib/valkey';
import { QUEUE_NAMES, type QueueName } from '@/lib/config';
import { queueTelemetry } from '@/lib/tracing';

export { QUEUE_NAMES, type QueueName };

export function queuePrefix(basePrefix: string, queue: QueueName): string {
  return `${basePrefix}:{${queue}}`;
}

export type QueueSet = Readonly<Record<QueueName, Queue>>;

/** One Queue per name over a single shared connection (BullMQ reuses a connection it is given). */
export function createQueueSet(connection: Valkey, basePrefix: string): QueueSet {
  const telemetry = queueTelemetry();
  const entries = QUEUE_NAMES.map((name) => {
    const queue = new Queue(name, { connection, prefix: queuePrefix(basePrefix, name), telemetry });
    // A Queue re-emits its connection's errors; the connection's owner reports those, and without
    // a listener Node would print each one as an unhandled 'error' event.
    queue.on('error', () => undefined);
    return [name, queue] as const;
  });
  return Object.fromEntries(entries) as Record<QueueName, Queue>;
}

export async function closeQueueSet(queues: QueueSet): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}
