// A token bucket per client address, in this process's memory. It needs no Valkey on purpose: the
// signup must keep working, and keep being limited, while Valkey is down. With several web
// processes each enforces its own share, which is enough to stop one client flooding signups.
import 'server-only';

/** Bounds memory under an address-spraying client; the least recently refilled buckets go first. */
const MAX_TRACKED_CLIENTS = 10_000;

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(private readonly perMinute: number) {}

  take(client: string, now = Date.now()): RateLimitDecision {
    if (this.perMinute === 0) return { allowed: true };
    const refillPerMs = this.perMinute / 60_000;
    const previous = this.buckets.get(client);
    const tokens = previous
      ? Math.min(this.perMinute, previous.tokens + (now - previous.updatedAt) * refillPerMs)
      : this.perMinute;

    this.buckets.delete(client);
    if (this.buckets.size >= MAX_TRACKED_CLIENTS) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    if (tokens < 1) {
      this.buckets.set(client, { tokens, updatedAt: now });
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / refillPerMs / 1_000)) };
    }
    this.buckets.set(client, { tokens: tokens - 1, updatedAt: now });
    return { allowed: true };
  }
}

/**
 * The client's address as the nearest proxy saw it: the last X-Forwarded-For entry. Route handlers
 * cannot see the socket, and Next fills the header with the socket address only when the request
 * has none, so the value is trustworthy only behind a proxy that appends to it (nginx's
 * $proxy_add_x_forwarded_for, cloud load balancers); production deployments run behind one.
 */
export function clientAddress(headers: Headers): string {
  const forwarded = headers.get('x-forwarded-for');
  const last = forwarded?.split(',').at(-1)?.trim();
  return last || headers.get('x-real-ip') || 'unknown';
}
