// The signup's rate limits: per client address (SIGNUP_RATE_LIMIT_PER_MINUTE) and from everyone
// together (SIGNUP_GLOBAL_RATE_LIMIT_PER_MINUTE), in Valkey, so that every web replica spends from
// the same budgets (lib/rate-budgets.ts): one EVALSHA per signup, asked before the body is read.
// The signup must keep working, and keep being limited, while Valkey is down: past a short
// deadline the budgets are this process's own, and each replica then allows its own share.
import 'server-only';
import { LocalBudgets, type Budgets } from '@/lib/rate-budgets';

/** Both limits are per minute; GCRA lets a minute's worth through at once, then spreads the rest. */
const WINDOW_MS = 60_000;

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number; scope: 'address' | 'everyone' };

export class RateLimiter {
  private readonly globalPerMinute: number;
  private readonly budgets: Budgets;

  /** `perMinute` per client address; 0 turns the limiter off. Budgets default to this process's own. */
  constructor(
    private readonly perMinute: number,
    options: { globalPerMinute?: number; budgets?: Budgets } = {},
  ) {
    this.globalPerMinute = options.globalPerMinute ?? 0;
    this.budgets = options.budgets ?? new LocalBudgets();
  }

  /** Spends one signup of `client`'s budget (lib/client-address.ts) and of everyone's, if both have room. */
  async take(client: string, now?: number): Promise<RateLimitDecision> {
    const decision = await this.budgets.take(
      'signup',
      [
        { key: `address:${client}`, limit: this.perMinute, windowMs: WINDOW_MS },
        { key: 'everyone', limit: this.perMinute === 0 ? 0 : this.globalPerMinute, windowMs: WINDOW_MS },
      ],
      now,
    );
    if (decision.allowed) return decision;
    return { allowed: false, retryAfterSeconds: decision.retryAfterSeconds, scope: decision.refusedBy === 'everyone' ? 'everyone' : 'address' };
  }
}
