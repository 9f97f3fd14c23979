// The shape of the health report the admin page shows and GET /api/admin/queues returns
// (queue-health.ts builds it). Fields are added, never renamed: the page polls it.
import 'server-only';
import type { QueueName } from '@/lib/queues';

export type Verdict = 'healthy' | 'degraded' | 'failing';
export interface LatencySummary { p50: number; p95: number; samples: number }
export interface QueueHealth {
  name: QueueName;
  paused: boolean;
  counts: { waiting: number; active: number; delayed: number; prioritized: number; completed: number; failed: number };
  workers: number;
  /** Last 60 minutes, oldest first; the last entry is the current minute. */
  throughput: { completedPerMinute: number[]; failedPerMinute: number[] };
  /**
   * failed / (completed + failed) over the last 15 minutes, from BullMQ's metrics; null if nothing
   * finished. Failed means failed for good: an attempt that will be retried is counted nowhere.
   */
  errorRate: number | null;
  /** processedOn − timestamp (less any requested delay) over the newest completed jobs. */
  waitMs: LatencySummary | null;
  /** finishedOn − processedOn, same sample. */
  processingMs: LatencySummary | null;
  oldestWaitingAgeMs: number | null;
  deadLetters: { unresolved: number; oldestFailedAt: string | null };
  breaker: { provider: string; state: 'closed' | 'open' | 'half-open'; callsInWindow: number; failuresInWindow: number; opens: number; closes: number };
  /**
   * The tenants holding the most jobs back for their turn (lib/tenant-limits.ts), most first; empty
   * when the queue has no per-tenant limits or nobody waits.
   */
  tenants: { tenant: string; held: number; running: number }[];
  verdict: Verdict;
  reasons: string[];
}
export interface QueueHealthReport {
  generatedAt: string;
  /** Worst of the queues, the outbox and Valkey itself. */
  verdict: Verdict;
  reasons: string[];
  valkeyReachable: boolean;
  queues: QueueHealth[];
  outbox: { pending: number; oldestAgeMs: number | null };
}
