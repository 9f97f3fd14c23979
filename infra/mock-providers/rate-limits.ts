// Each provider's published request rate, enforced the way real APIs do it: a token bucket per
// provider that holds one second's worth of requests and refills continuously. Past it the
// provider answers as in `ratelimit` mode (HTTP 429 with Retry-After, SMTP 451 4.7.0), so the
// workers' queue limiters are tested against a provider that actually pushes back.
import type { ProviderName } from '@/lib/providers';

/**
 * Requests (SMTP: messages) per second, in the range real providers publish for one account: a
 * CRM allows tens per second, an object store a few hundred writes, an event collector more
 * still, a transactional SMTP relay about a hundred messages, and an alert webhook (a chat API)
 * a handful. The workers' queue limiters (lib/queues.ts) keep under these. 0 means
 * unlimited.
 */
export const DEFAULT_RATE_LIMITS_PER_SECOND: Readonly<Record<ProviderName, number>> = {
  smtp: 100,
  crm: 50,
  storage: 100,
  analytics: 200,
  alerts: 10,
};

// Retry-After is whole seconds (RFC 9110), and 0 would tell a client to hammer us at once.
const MIN_RETRY_AFTER_SECONDS = 1;

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RateLimits {
  limitOf(provider: ProviderName): number;
  setLimit(provider: ProviderName, perSecond: number): void;
  /** Takes one token for a request to `provider`, or says how long until one frees. */
  take(provider: ProviderName): RateDecision;
  reset(): void;
}

interface Bucket {
  tokens: number;
  refilledAt: number;
}

export function createRateLimits(now: () => number = Date.now): RateLimits {
  const limits = new Map<ProviderName, number>();
  const buckets = new Map<ProviderName, Bucket>();
  const limitOf = (provider: ProviderName) => limits.get(provider) ?? DEFAULT_RATE_LIMITS_PER_SECOND[provider];
  // A burst of one second's worth is allowed, and always at least one request, so a limit
  // below 1/s still lets a request through every 1/limit seconds.
  const capacityOf = (provider: ProviderName) => Math.max(1, limitOf(provider));

  return {
    limitOf,
    setLimit(provider, perSecond) {
      limits.set(provider, perSecond);
      // A new limit starts from a full bucket, as a provider's new plan would.
      buckets.delete(provider);
    },
    take(provider) {
      const limit = limitOf(provider);
      if (limit === 0) return { allowed: true };
      const at = now();
      const capacity = capacityOf(provider);
      const bucket = buckets.get(provider) ?? { tokens: capacity, refilledAt: at };
      bucket.tokens = Math.min(capacity, bucket.tokens + ((at - bucket.refilledAt) / 1_000) * limit);
      bucket.refilledAt = at;
      buckets.set(provider, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { allowed: true };
      }
      const secondsUntilToken = (1 - bucket.tokens) / limit;
      return { allowed: false, retryAfterSeconds: Math.max(MIN_RETRY_AFTER_SECONDS, Math.ceil(secondsUntilToken)) };
    },
    reset() {
      limits.clear();
      buckets.clear();
    },
  };
}
