// Rate budgets that every web replica spends from together: the signup limits, the admin login's
// wrong attempts, and whatever else must not be had again by asking another replica. Each budget
// is a GCRA (generic cell rate algorithm): `limit` at once, then one every windowMs / limit, held
// in one small Valkey key (the time the budget is full again) that expires at that time. The
// budgets of one call are checked and spent by one script in one round trip, all or nothing: a
// refused request spends nothing, and two replicas never both take the last slot.
//
// Keys: `<prefix>:{budget:<name>}:<key>`. The hash tag puts a name's budgets in one Cluster slot,
// so one call may span them (a signup's address and global budgets).
//
// A request must still be limited while Valkey is down, and never wait on it: past a short deadline
// the budgets are this process's own (LocalBudgets), so each replica then allows its own share.
import { createHash } from 'node:crypto';
import { withDeadline } from '@/lib/deadline';
import type { Valkey } from '@/lib/valkey';

export interface BudgetLimit {
  /** What this budget counts within its name: an address group, an account, everyone. */
  key: string;
  /** How many at once, and per window on average; 0 turns this budget off. */
  limit: number;
  windowMs: number;
  /** False: the budget must have room, but the call spends none of it. Default true. */
  spend?: boolean;
}

export type BudgetDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number; refusedBy: string };

export interface Budgets {
  /**
   * Whether every budget in `limits` has room now, spending one from each that spends if so. `now`
   * is for tests and the in-process budgets; shared budgets otherwise go by Valkey's clock, which
   * every replica reads alike.
   */
  take(name: string, limits: readonly BudgetLimit[], now?: number): Promise<BudgetDecision>;
}

/**
 * A healthy Valkey answers a short script in well under a millisecond; 50 ms is far past that, yet
 * small beside a signup's own database budget (1.5 s). A Valkey that hangs costs each request 50 ms
 * this way, not the producer connection's 500 ms command timeout.
 */
export const SHARED_BUDGET_DEADLINE_MS = 50;

/** Bounds this process's memory under an address-spraying client; the least recently spent go first. */
const MAX_LOCAL_BUDGETS = 10_000;

// KEYS: one per budget. ARGV: now in ms ('' for Valkey's clock), then per key: limit, windowMs,
// spend (1 or 0). Returns: allowed (1 or 0), the ms until all would have room, the refusing index.
const TAKE_SCRIPT = `
local now = tonumber(ARGV[1])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
end
local arrivals = {}
local wait, refusedBy = 0, 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i * 3 - 1])
  local windowMs = tonumber(ARGV[i * 3])
  local arrival = math.max(tonumber(redis.call('GET', key) or '0'), now) + windowMs / limit
  local late = arrival - now - windowMs
  if late > wait then wait, refusedBy = late, i end
  arrivals[i] = arrival
end
if refusedBy > 0 then return {0, math.ceil(wait), refusedBy} end
for i, key in ipairs(KEYS) do
  if ARGV[i * 3 + 1] == '1' then
    redis.call('SET', key, string.format('%.3f', arrivals[i]), 'PX', math.ceil(arrivals[i] - now))
  end
end
return {1, 0, 0}
`;
const TAKE_SCRIPT_SHA = createHash('sha1').update(TAKE_SCRIPT).digest('hex');

export class SharedBudgets implements Budgets {
  private readonly redis: Valkey;
  private readonly keyPrefix: string;
  private readonly fallback: Budgets;
  private readonly deadlineMs: number;
  private readonly onFallback?: (error: unknown) => void;

  constructor(options: {
    redis: Valkey;
    keyPrefix: string;
    /** Decides when Valkey does not answer in time; defaults to a LocalBudgets of its own. */
    fallback?: Budgets;
    deadlineMs?: number;
    /** Told each time the fallback decided, with why (for a metric). */
    onFallback?: (error: unknown) => void;
  }) {
    this.redis = options.redis;
    this.keyPrefix = options.keyPrefix;
    this.fallback = options.fallback ?? new LocalBudgets();
    this.deadlineMs = options.deadlineMs ?? SHARED_BUDGET_DEADLINE_MS;
    this.onFallback = options.onFallback;
  }

  /** The Valkey key of budget `key` under `name`. */
  budgetKey(name: string, key: string): string {
    return `${this.keyPrefix}:{budget:${name}}:${key}`;
  }

  async take(name: string, limits: readonly BudgetLimit[], now?: number): Promise<BudgetDecision> {
    const active = activeLimits(limits);
    if (active.length === 0) return { allowed: true };
    const args = [now === undefined ? '' : String(now), ...active.flatMap((limit) => [limit.limit, limit.windowMs, limit.spend === false ? 0 : 1])];
    const keys = active.map((limit) => this.budgetKey(name, limit.key));
    let reply: unknown;
    try {
      const late = () => new Error(`Valkey did not answer the ${name} budgets within ${this.deadlineMs} ms`);
      reply = await withDeadline(this.evaluate(keys, args), this.deadlineMs, late);
    } catch (error) {
      this.onFallback?.(error);
      return this.fallback.take(name, active, now);
    }
    const [allowed, waitMs, refusedBy] = Array.isArray(reply) ? reply.map(Number) : [];
    if (allowed === 1) return { allowed: true };
    const refusing = active[(refusedBy ?? 0) - 1];
    if (allowed !== 0 || waitMs === undefined || !refusing) throw new Error(`${name} budgets: unexpected script reply ${JSON.stringify(reply)}`);
    return { allowed: false, retryAfterSeconds: retryAfterSeconds(waitMs), refusedBy: refusing.key };
  }

  /** EVALSHA, and EVAL the first time a server sees the script (or after SCRIPT FLUSH / failover). */
  private async evaluate(keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(TAKE_SCRIPT_SHA, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await this.redis.eval(TAKE_SCRIPT, keys.length, ...keys, ...args);
    }
  }
}

/** The same budgets in this process's memory: the fallback, and enough for tests and scripts. */
export class LocalBudgets implements Budgets {
  /** When each budget is full again, by `<name>:<key>`; least recently spent first. */
  private readonly arrivals = new Map<string, number>();

  async take(name: string, limits: readonly BudgetLimit[], now = Date.now()): Promise<BudgetDecision> {
    const active = activeLimits(limits);
    let waitMs = 0;
    let refusedBy: string | undefined;
    const next = active.map((limit) => {
      const id = `${name}:${limit.key}`;
      const arrival = Math.max(this.arrivals.get(id) ?? 0, now) + limit.windowMs / limit.limit;
      const late = arrival - now - limit.windowMs;
      if (late > waitMs) [waitMs, refusedBy] = [late, limit.key];
      return { id, arrival, spend: limit.spend !== false };
    });
    if (refusedBy !== undefined) return { allowed: false, retryAfterSeconds: retryAfterSeconds(waitMs), refusedBy };
    for (const { id, arrival, spend } of next) {
      if (!spend) continue;
      this.arrivals.delete(id);
      if (this.arrivals.size >= MAX_LOCAL_BUDGETS) {
        const oldest = this.arrivals.keys().next();
        if (!oldest.done) this.arrivals.delete(oldest.value);
      }
      this.arrivals.set(id, arrival);
    }
    return { allowed: true };
  }
}

function activeLimits(limits: readonly BudgetLimit[]): BudgetLimit[] {
  for (const { key, limit, windowMs } of limits) {
    if (!(Number.isInteger(limit) && limit >= 0 && Number.isInteger(windowMs) && windowMs >= 1)) {
      throw new RangeError(`budget ${key}: limit must be an integer ≥ 0 and windowMs an integer ≥ 1`);
    }
  }
  return limits.filter((limit) => limit.limit > 0);
}

function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1_000));
}
