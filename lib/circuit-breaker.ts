// A circuit breaker per provider, shared by every worker process through Valkey. When a provider
// fails most of the calls in a sliding window, the breaker opens: jobs for it stop calling it, then
// after a pause one probe call finds out whether it is back, and its result closes or reopens it.
//
// Shared, not per process: one dead provider is seen by many worker processes at once. If each
// learnt on its own, each would need its own failures to open and would send its own probe, so the
// provider would get as many probes as there are processes, just as it tries to recover.
//
// The job runner acts on a refusal by rate-limiting the queue (`queue.rateLimit(retryInMs)` and a
// `RateLimitError`) rather than pausing it: the job goes back to waiting without spending an
// attempt, every worker on the queue stops fetching for that long, and the limit ends by itself, so
// a worker is fetching again when the probe is due. A paused queue hands out no job at all, probes
// included, and someone would have to resume it.
//
// Key layout: one hash per provider, `<keyPrefix>:{breaker:<provider>}`. The hash tag keeps it in
// one Cluster slot; every change is one Lua script on that key, so two processes can never both
// take the probe or both open the breaker. Fields:
//   state            'closed' | 'open' | 'half-open' (absent: closed)
//   openedAt         when it last opened (ms, the callers' clocks)
//   probeUntil       while half-open: the probe slot is taken until then
//   opens, closes    counters for the admin page and metrics
//   calls:<bucket>, failures:<bucket>   outcomes per time bucket of windowMs / 10, bucket = ⌊now / (windowMs / 10)⌋
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Valkey } from '@/lib/valkey';

export interface CircuitBreakerSettings {
  /** Sliding window over which the failure ratio is computed. */
  windowMs: number;
  /** No opening before this many calls in the window (a single failure is not an outage). */
  minimumRequests: number;
  /** Opens when failures / calls in the window ≥ this. */
  failureRatio: number;
  /** How long it stays open before letting one probe through. */
  openMs: number;
  /**
   * How long a probe holds its slot (at least openMs). If its worker dies mid-call, the next probe
   * waits this long; it must outlast one provider call, or a slow live probe would get a twin.
   */
  probeLeaseMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: Readonly<CircuitBreakerSettings> = {
  // Long enough to gather minimumRequests at signup traffic; short enough that a blip that has
  // passed stops counting within half a minute.
  windowMs: 30_000,
  // One failing job retries with jittered backoff from 1 s: about six attempts in 30 s. Ten calls
  // takes several failing jobs: an outage, not one unlucky payload.
  minimumRequests: 10,
  // At half the calls failing the provider is mostly down; below that, retries get jobs through.
  failureRatio: 0.5,
  // Waiting costs jobs no attempts, only latency; 5 s means one probe per 5 s against a dead
  // provider, and a recovered one is noticed within seconds.
  openMs: 5_000,
  // Three times the default provider call timeout (PROVIDER_TIMEOUT_MS, 10 s).
  probeLeaseMs: 30_000,
};

export type BreakerState = 'closed' | 'open' | 'half-open';
export type BreakerTicket = { probe: boolean };
export type BreakerDecision =
  | ({ allowed: true } & BreakerTicket)
  | { allowed: false; retryInMs: number; state: 'open' | 'half-open' };

export interface BreakerSnapshot {
  provider: string;
  state: BreakerState;
  callsInWindow: number;
  failuresInWindow: number;
  openedAt?: number;
  opens: number;
  closes: number;
}

export type BreakerTransitionListener = (from: BreakerState, to: BreakerState, snapshot: BreakerSnapshot) => void;

/** The Valkey key of a provider's breaker: one key, hash-tagged, so every operation is single-slot on a Valkey Cluster. */
export function breakerKey(keyPrefix: string, provider: string): string {
  return `${keyPrefix}:{breaker:${provider}}`;
}

/** Buckets per window: the window slides in steps of a tenth, and the hash stays small. */
const WINDOW_BUCKETS = 10;
/** Callers refused while a probe is out look again this soon (at most openMs), to follow its result. */
const HALF_OPEN_RETRY_MS = 1_000;
/** An abandoned breaker (provider renamed, test prefix) disappears after a day without writes. */
const BREAKER_TTL_MS = 24 * 60 * 60 * 1_000;

type Operation = 'acquire' | 'success' | 'failure' | 'report' | 'snapshot';

// The script lives in its own file so it reads and diffs as Lua; ARGV and the reply are described at
// its top. It is read from the app's root, the working directory of every process (npm scripts run
// there, the container's WORKDIR is it, and Next's standalone server changes into its own folder,
// where next.config.ts copies the file), because a bundler moves this module away from its source.
const BREAKER_SCRIPT = readFileSync(path.join(process.cwd(), 'lib', 'circuit-breaker.lua'), 'utf8');
const BREAKER_SCRIPT_SHA = createHash('sha1').update(BREAKER_SCRIPT).digest('hex');

interface ScriptResult {
  from: BreakerState;
  to: BreakerState;
  allowed: boolean;
  probe: boolean;
  retryInMs: number;
  snapshot: BreakerSnapshot;
}

export class CircuitBreaker {
  readonly provider: string;
  readonly key: string;
  readonly settings: Readonly<CircuitBreakerSettings>;
  private readonly redis: Valkey;
  private readonly onTransition?: BreakerTransitionListener;

  constructor(options: {
    redis: Valkey;
    provider: string;
    keyPrefix: string;
    settings?: Partial<CircuitBreakerSettings>;
    onTransition?: BreakerTransitionListener;
  }) {
    this.redis = options.redis;
    this.provider = options.provider;
    this.key = breakerKey(options.keyPrefix, options.provider);
    this.settings = validSettings({ ...DEFAULT_BREAKER_SETTINGS, ...options.settings });
    this.onTransition = options.onTransition;
  }

  /** Whether a call may go to the provider now; a probe ticket must be reported back. */
  async acquire(now = Date.now()): Promise<BreakerDecision> {
    const result = await this.run('acquire', now, false);
    if (result.allowed) return { allowed: true, probe: result.probe };
    // The script only refuses while open or half-open.
    const state = result.to === 'closed' ? 'open' : result.to;
    return { allowed: false, retryInMs: Math.max(1, result.retryInMs), state };
  }

  /** The call answered. A probe's success closes the breaker. */
  async recordSuccess(ticket: BreakerTicket, now = Date.now()): Promise<void> {
    await this.run('success', now, ticket.probe);
  }

  /** The call failed transiently (5xx, timeout, refused connection); never for 4xx or 429. */
  async recordFailure(ticket: BreakerTicket, now = Date.now()): Promise<void> {
    await this.run('failure', now, ticket.probe);
  }

  /**
   * Many ordinary (non-probe) results at once, as one process gathered them: counted while closed,
   * and the breaker opens if they tip the window. Returns the state after, for the caller's view.
   */
  async report({ successes, failures }: { successes: number; failures: number }, now = Date.now()): Promise<BreakerSnapshot> {
    return (await this.run('report', now, false, [successes, failures])).snapshot;
  }

  /** The state as callers would see it now, without changing it. */
  async snapshot(now = Date.now()): Promise<BreakerSnapshot> {
    return (await this.run('snapshot', now, false)).snapshot;
  }

  private async run(operation: Operation, now: number, probe: boolean, extra: number[] = []): Promise<ScriptResult> {
    const { windowMs, minimumRequests, failureRatio, openMs, probeLeaseMs } = this.settings;
    const args = [
      operation,
      Math.floor(now),
      windowMs,
      minimumRequests,
      failureRatio,
      openMs,
      Math.max(openMs, probeLeaseMs),
      Math.min(openMs, HALF_OPEN_RETRY_MS),
      BREAKER_TTL_MS,
      probe ? 1 : 0,
      WINDOW_BUCKETS,
      ...extra,
    ];
    const result = this.parse(await this.evaluate(args));
    if (result.from !== result.to) this.onTransition?.(result.from, result.to, result.snapshot);
    return result;
  }

  /** EVALSHA, and EVAL the first time a server sees the script (or after SCRIPT FLUSH / failover). */
  private async evaluate(args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(BREAKER_SCRIPT_SHA, 1, this.key, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return await this.redis.eval(BREAKER_SCRIPT, 1, this.key, ...args);
    }
  }

  private parse(reply: unknown): ScriptResult {
    if (!Array.isArray(reply) || reply.length !== 10) {
      throw new Error(`circuit breaker ${this.provider}: unexpected script reply ${JSON.stringify(reply)}`);
    }
    const [from, to, allowed, probe, retryInMs, calls, failures, openedAt, opens, closes] = reply as unknown[];
    return {
      from: asState(from),
      to: asState(to),
      allowed: allowed === 1,
      probe: probe === 1,
      retryInMs: Number(retryInMs),
      snapshot: {
        provider: this.provider,
        state: asState(to),
        callsInWindow: Number(calls),
        failuresInWindow: Number(failures),
        ...(Number(openedAt) >= 0 && { openedAt: Number(openedAt) }),
        opens: Number(opens),
        closes: Number(closes),
      },
    };
  }
}

function asState(value: unknown): BreakerState {
  if (value === 'closed' || value === 'open' || value === 'half-open') return value;
  throw new Error(`circuit breaker: unknown state ${JSON.stringify(value)}`);
}

function validSettings(settings: CircuitBreakerSettings): CircuitBreakerSettings {
  const { windowMs, minimumRequests, failureRatio, openMs, probeLeaseMs } = settings;
  const problems = [
    !(Number.isInteger(windowMs) && windowMs >= WINDOW_BUCKETS) && `windowMs must be an integer ≥ ${WINDOW_BUCKETS}`,
    !(Number.isInteger(minimumRequests) && minimumRequests >= 1) && 'minimumRequests must be an integer ≥ 1',
    !(failureRatio > 0 && failureRatio <= 1) && 'failureRatio must be in (0, 1]',
    !(Number.isInteger(openMs) && openMs >= 1) && 'openMs must be an integer ≥ 1',
    !(Number.isInteger(probeLeaseMs) && probeLeaseMs >= 1) && 'probeLeaseMs must be an integer ≥ 1',
  ].filter((problem): problem is string => typeof problem === 'string');
  if (problems.length > 0) throw new RangeError(`circuit breaker settings: ${problems.join('; ')}`);
  return settings;
}
