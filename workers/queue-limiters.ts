// How fast each queue may start jobs, counted across every worker process. Apart from
// start-workers.ts because the producer paces bulk work by the same rates (lib/tenant-pacer.ts),
// and the web app must be able to import them without loading BullMQ's Worker.
import type { QueueName } from '@/lib/config';

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
 * and other callers on the same account (the synchronous signup baseline).
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
