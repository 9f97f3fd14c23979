// Limits password guessing per client address, for the login form and for Basic credentials on
// /api/admin/* alike. It counts wrong attempts only, so a script with the right Basic credentials
// is never slowed down, and it is asked before the answer is revealed, so a guesser that has run
// out of attempts learns nothing, not even from the right password.
//
// The signup RateLimiter does not fit: it spends a token on every call and cannot be asked without
// spending one. Like it, this lives in process memory: each web process allows its own share.
import 'server-only';
import type { RateLimitDecision } from '@/app/_signup/rate-limiter';

/**
 * 5 wrong attempts per address per rolling minute: plenty for a person mistyping, and ~7,200
 * guesses a day at most from one address, hopeless against a generated password.
 */
export const LOGIN_FAILURES_PER_MINUTE = 5;
const WINDOW_MS = 60_000;

/**
 * What clientAddress() answers when a request names no address. Next fills X-Forwarded-For on every
 * request it serves, so only direct calls (tests) lack one; throttling them as one client would let
 * one guesser lock out everyone. Like the signup limit, this throttle holds only behind a proxy that
 * appends the real address: without one, a client can name any address it likes.
 */
const UNKNOWN_CLIENT = 'unknown';

/** Bounds memory under an address-spraying client; the least recently failing addresses go first. */
const MAX_TRACKED_CLIENTS = 10_000;

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly maxFailures = LOGIN_FAILURES_PER_MINUTE) {}

  /** Whether `client` may have its credentials judged now. */
  check(client: string, now = Date.now()): RateLimitDecision {
    if (client === UNKNOWN_CLIENT) return { allowed: true };
    const recent = this.recent(client, now);
    const oldest = recent[0];
    if (oldest === undefined || recent.length < this.maxFailures) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1_000)) };
  }

  recordFailure(client: string, now = Date.now()): void {
    if (client === UNKNOWN_CLIENT) return;
    const recent = [...this.recent(client, now), now];
    this.failures.delete(client);
    if (this.failures.size >= MAX_TRACKED_CLIENTS) {
      const oldest = this.failures.keys().next();
      if (!oldest.done) this.failures.delete(oldest.value);
    }
    this.failures.set(client, recent.slice(-this.maxFailures));
  }

  private recent(client: string, now: number): number[] {
    const recent = (this.failures.get(client) ?? []).filter((at) => at > now - WINDOW_MS);
    if (recent.length === 0) this.failures.delete(client);
    return recent;
  }
}

// Kept on globalThis: the login action and the route handlers are bundled separately but run in
// one process, and Next's dev reloads would otherwise forget every failure.
const holder = globalThis as typeof globalThis & { __signupAdminLoginThrottle?: LoginThrottle };

/** This process's throttle, shared by the login form and authenticateAdmin's Basic check. */
export function loginThrottle(): LoginThrottle {
  holder.__signupAdminLoginThrottle ??= new LoginThrottle();
  return holder.__signupAdminLoginThrottle;
}
