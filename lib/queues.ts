// The four queues, partitioned by workload so a slow avatar render never sits in front of an email.
// What holds for every job in a queue is said here once: the provider its jobs call (whose circuit
// breaker guards the queue) and how fast the queue may start jobs across every worker process.
//
// Every key carries a hash tag per queue (`signup:{email}:email:wait`), so each queue's keys live in
// one Valkey Cluster slot and BullMQ's multi-key scripts never cross slots.
import { Queue } from 'bullmq';
import type { Valkey } from '@/lib/valkey';
import { QUEUE_NAMES, type QueueName } from '@/lib/config';
import type { ProviderName } from '@/lib/providers';
import { queueTelemetry } from '@/lib/tracing';

export { QUEUE_NAMES, type QueueName };

/** The third party each queue's jobs call. One provider per queue: its breaker guards the queue. */
export const QUEUE_PROVIDERS: Readonly<Record<QueueName, ProviderName>> = {
  email: 'smtp',
  crm: 'crm',
  avatar: 'storage',
  analytics: 'analytics',
};

export interface QueueLimiter {
  /** At most `max` jobs started per `duration` ms (BullMQ's limiter). */
  max: number;
  duration: number;
}

/**
 * Per queue, 80% of its provider's published rate (infra/mock-providers/rate-limits.ts), so in
 * normal operation a 429 is rare and the Retry-After path is the exception. BullMQ's limiter is
 * one counter per queue in Valkey, shared by every worker process, so adding processes never
 * adds rate; the 20% headroom covers the provider's clock and window not lining up with ours,
 * and other callers on the same account (the synchronous signup baseline). The producer paces
 * bulk work by the same rates (lib/tenant-pacer.ts).
 */
export const QUEUE_LIMITERS: Readonly<Record<QueueName, QueueLimiter>> = {
  // SMTP relay: 100 messages/s.
  email: { max: 80, duration: 1_000 },
  // CRM: 50 requests/s, the tightest of our providers.
  crm: { max: 40, duration: 1_000 },
  // Object storage: 100 uploads/s; rendering caps avatars far below this today, the limit
  // matters once avatar workers scale out.
  avatar: { max: 80, duration: 1_000 },
  // Event collector: 200 events/s.
  analytics: { max: 160, duration: 1_000 },
};

/** Milliseconds between two job starts at the queue's full rate. */
export function jobIntervalMs(queue: QueueName): number {
  const { max, duration } = QUEUE_LIMITERS[queue];
  return duration / max;
}

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
