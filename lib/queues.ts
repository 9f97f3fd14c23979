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

/**
 * One Queue per name over a single shared connection (BullMQ reuses a connection it is given).
 *
 * A Queue's first use waits for its handshake: the connection's ready event, then BullMQ's own
 * INFO version check. If the connection drops while that INFO is in flight, a connection that
 * does not retry commands (the producer's, lib/valkey.ts) fails it, and BullMQ keeps the failed
 * handshake: every later call on that Queue fails at once with the same error, long after Valkey
 * is back. So the set watches each Queue's handshake and, on the first use after the connection
 * is ready again, replaces a Queue whose handshake failed with a fresh one on the same
 * connection. Without this a web process whose Valkey died at the wrong moment would leave every
 * job to the relay until it restarted.
 */
export function createQueueSet(connection: Valkey, basePrefix: string): QueueSet {
  const telemetry = queueTelemetry();
  const current = new Map<QueueName, Queue>();
  const failedHandshake = new Set<QueueName>();
  const open = (name: QueueName): Queue => {
    const queue = new Queue(name, { connection, prefix: queuePrefix(basePrefix, name), telemetry });
    // A Queue re-emits its connection's errors; the connection's owner reports those, and without
    // a listener Node would print each one as an unhandled 'error' event.
    queue.on('error', () => undefined);
    queue.waitUntilReady().catch(() => {
      if (current.get(name) === queue) failedHandshake.add(name);
    });
    current.set(name, queue);
    return queue;
  };
  const use = (name: QueueName): Queue => {
    const queue = current.get(name) ?? open(name);
    if (!failedHandshake.has(name) || connection.status !== 'ready') return queue;
    failedHandshake.delete(name);
    // Shared connection: closing the broken Queue only drops its listeners, never the connection.
    queue.close().catch(() => undefined);
    return open(name);
  };
  QUEUE_NAMES.forEach(open);
  return Object.defineProperties(
    {},
    Object.fromEntries(QUEUE_NAMES.map((name) => [name, { get: () => use(name), enumerable: true }])),
  ) as Record<QueueName, Queue>;
}

export async function closeQueueSet(queues: QueueSet): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}
