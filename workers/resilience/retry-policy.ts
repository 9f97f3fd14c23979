// How each queue retries a transient failure: exponential backoff with full jitter and a cap
// (AWS Architecture Blog, "Exponential Backoff and Jitter"): the n-th retry waits a random time
// between 0 and min(cap, base × 2^(n-1)). Jitter spreads the retries of jobs that failed together,
// so a provider coming back from an outage is not met by all of them at once; the cap keeps a
// long outage from pushing the next try hours away.
//
// BullMQ 6 has no cap or jitter of its own, so jobs carry `backoff: { type: RETRY_BACKOFF_TYPE }`
// and each Worker's `settings.backoffStrategy` computes the delay from its queue's policy.
// Rate limits (429) and an open circuit breaker do not spend attempts at all
// (workers/runtime/process-job.ts).
import type { QueueName } from '@/lib/config';

export const RETRY_BACKOFF_TYPE = 'capped-full-jitter';

export interface RetryPolicy {
  /** Attempts in all, the first included; then the job is dead-lettered. */
  attempts: number;
  baseMs: number;
  capMs: number;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

/**
 * Every queue survives a provider outage of at least an hour before dead-lettering (in expectation;
 * see expectedRetryWindowMs). Counted in attempts that actually reach the provider: while the
 * circuit breaker is open, jobs wait without spending any.
 */
export const RETRY_POLICIES: Readonly<Record<QueueName, RetryPolicy>> = {
  // A welcome email an hour late still helps; much later it confuses. ~1 h, then a dead letter a
  // person looks at.
  email: { attempts: 33, baseMs: 1 * SECOND, capMs: 5 * MINUTE },
  // The CRM tolerates lag and its outages run long (maintenance windows): ~2.5 h, with a longer cap
  // so a struggling CRM is tried less often.
  crm: { attempts: 40, baseMs: 2 * SECOND, capMs: 10 * MINUTE },
  // Only the upload can fail; rendering is local. Same hour as email: the status page waits on it.
  avatar: { attempts: 33, baseMs: 1 * SECOND, capMs: 5 * MINUTE },
  // Events are worth having late but never urgent; a 15-minute cap keeps the load on a recovering
  // analytics service low. ~3 h.
  analytics: { attempts: 30, baseMs: 5 * SECOND, capMs: 15 * MINUTE },
};

/** The delay before retry number `attemptsMade` (1 after the first failure). */
export function backoffDelayMs(attemptsMade: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, attemptsMade - 1);
  // 2^exponent overflows to Infinity long after it passes any cap, and Math.min handles that.
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

/** Expected time from the first failure to the dead letter if every attempt fails. */
export function expectedRetryWindowMs(policy: RetryPolicy): number {
  let total = 0;
  for (let attemptsMade = 1; attemptsMade < policy.attempts; attemptsMade += 1) {
    total += Math.min(policy.capMs, policy.baseMs * 2 ** (attemptsMade - 1)) / 2;
  }
  return total;
}
