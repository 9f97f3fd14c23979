// Limits password guessing, for the login form and for Basic credentials on /api/admin/* alike:
// wrong attempts per client address, per account and from everyone, in Valkey so that every web
// replica counts the same attempts (lib/rate-budgets.ts). An attempt is judged before its answer is
// revealed: while a budget is spent even the right password is refused, so a guesser learns
// nothing; a right attempt spends nothing, so a script with the right credentials is never slowed.
//
// The account budget is a lock-out tool in an attacker's hands: while it is spent, the admin cannot
// sign in either (a signed-in browser keeps its session). So it is bounded: spending it takes four
// addresses guessing flat out, it refills continuously, and it is full again within seconds of the
// guessing stopping. Without it, a thousand addresses would get a thousand times the guesses.
// docs/operations.md ("Who may use the admin") says the same for operators.
import 'server-only';
import { UNKNOWN_CLIENT } from '@/lib/client-address';
import { config } from '@/lib/config';
import { createLogger, type Logger } from '@/lib/log';
import { metrics, type Metrics } from '@/lib/metrics';
import { LocalBudgets, SharedBudgets, type Budgets } from '@/lib/rate-budgets';
import { createProducerConnection } from '@/lib/valkey';

/**
 * 5 wrong attempts per address at once, then one every 12 s: plenty for a person mistyping, and
 * ~7,200 guesses a day at most from one address, hopeless against a generated password.
 */
export const LOGIN_FAILURES_PER_MINUTE = 5;
/**
 * Wrong attempts naming the admin account, from all addresses: one every 3 s once spent, so four
 * addresses at their full 300 an hour are needed to keep it spent, and the whole internet gets
 * 28,800 guesses a day at most, against a password of at least 16 characters in production.
 */
export const ACCOUNT_FAILURES_PER_HOUR = 1_200;
/**
 * Every wrong attempt, whatever user it names: three times the account's, so that guesses at other
 * user names are bounded too without spending the admin's budget for them.
 */
export const GLOBAL_FAILURES_PER_HOUR = 3_600;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export interface LoginAttempt {
  /** clientAddress() of the request. */
  client: string;
  via: 'form' | 'basic';
  /** Whether the user name given is the configured account's, compared in constant time. */
  namesAccount: boolean;
  /** Whether user and password were both right. */
  right: boolean;
}

export type LoginDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class LoginThrottle {
  private readonly budgets: Budgets;
  private readonly log?: Logger;
  private readonly metrics?: Metrics;

  /** Budgets default to this process's own; without `metrics` and `log`, nothing is counted or logged. */
  constructor(options: { budgets?: Budgets; log?: Logger; metrics?: Metrics } = {}) {
    this.budgets = options.budgets ?? new LocalBudgets();
    this.log = options.log;
    this.metrics = options.metrics;
  }

  /**
   * Whether `attempt` may have its answer: a wrong one spends from its address's budget, from
   * everyone's and, when it names the admin, from the account's; a right one only needs them all to
   * have room. The account budget is asked of every attempt, so that a refusal never tells a
   * guesser that the user name was right. Requests naming no address (direct calls in tests) have
   * no address budget: one shared budget would let one guesser lock out the rest.
   */
  async judge(attempt: LoginAttempt, now?: number): Promise<LoginDecision> {
    const wrong = !attempt.right;
    const decision = await this.budgets.take(
      'admin-login',
      [
        {
          key: `address:${attempt.client}`,
          limit: attempt.client === UNKNOWN_CLIENT ? 0 : LOGIN_FAILURES_PER_MINUTE,
          windowMs: MINUTE_MS,
          spend: wrong,
        },
        { key: 'account', limit: ACCOUNT_FAILURES_PER_HOUR, windowMs: HOUR_MS, spend: wrong && attempt.namesAccount },
        { key: 'everyone', limit: GLOBAL_FAILURES_PER_HOUR, windowMs: HOUR_MS, spend: wrong },
      ],
      now,
    );
    if (!decision.allowed) {
      this.metrics?.adminLoginFailures.inc({ outcome: 'throttled' });
      return { allowed: false, retryAfterSeconds: decision.retryAfterSeconds };
    }
    if (wrong) {
      this.metrics?.adminLoginFailures.inc({ outcome: 'wrong' });
      // The address only: never the password, and never a user name someone typed.
      this.log?.warn('admin login failed', { client: attempt.client, via: attempt.via });
    }
    return { allowed: true };
  }
}

// One per process, on globalThis so that the login action and the route handlers (bundled apart)
// and Next's dev reloads share it. Its own fail-fast connection, not the web runtime's: this module
// is reached from proxy.ts through admin-auth.ts, whose bundle should not carry the runtime.
const holder = globalThis as typeof globalThis & { __signupAdminLoginThrottle?: LoginThrottle };

/** This process's throttle, shared by the login form and authenticateAdmin's Basic check. */
export function loginThrottle(): LoginThrottle {
  if (!holder.__signupAdminLoginThrottle) {
    const settings = config();
    const log = createLogger('web');
    const budgets = new SharedBudgets({
      redis: createProducerConnection(settings.valkey),
      keyPrefix: settings.queuePrefix,
      onFallback: () => metrics().rateBudgetFallbacks.inc(),
    });
    holder.__signupAdminLoginThrottle = new LoginThrottle({ budgets, log, metrics: metrics() });
  }
  return holder.__signupAdminLoginThrottle;
}
