// The fault each provider is set to inject, and the decision it implies for one request. Kept
// protocol-free: the HTTP and SMTP servers each translate a decision into their own status codes,
// so a mode means the same thing on both (CONTRACT.md, "Modes").
import { z } from 'zod';
import { PROVIDER_NAMES, type ProviderName } from './providers';
import { createRateLimits, type RateLimits } from './rate-limits';

export const FAULT_MODES = ['up', 'slow', 'flaky', 'down', 'hang', 'ratelimit', 'reject'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

// Defaults chosen so a demo shows the effect at once without touching a worker's 10 s provider
// timeout: one second of latency, a coin toss of failures, the shortest honest Retry-After.
const DEFAULT_LATENCY_MS = 1_000;
const DEFAULT_FAILURE_RATE = 0.5;
const DEFAULT_RETRY_AFTER_SECONDS = 1;
// Long enough to outlast any client timeout, short enough that a typo cannot park a request for days.
const MAX_LATENCY_MS = 10 * 60 * 1_000;
// Far above any provider's published rate; only stops a typo from looking like "unlimited".
const MAX_RATE_LIMIT_PER_SECOND = 1_000_000;

export const faultRequestSchema = z.strictObject({
  mode: z.enum(FAULT_MODES),
  latencyMs: z.number().int().min(0).max(MAX_LATENCY_MS).optional(),
  failureRate: z.number().min(0).max(1).optional(),
  retryAfterSeconds: z.number().int().min(0).max(3_600).optional(),
  /** The provider's own rate limit (rate-limits.ts); omitted keeps the current one, 0 lifts it. */
  rateLimitPerSecond: z.number().min(0).max(MAX_RATE_LIMIT_PER_SECOND).optional(),
});
export type FaultRequest = z.output<typeof faultRequestSchema>;

type ModeSetting = Omit<FaultSetting, 'rateLimitPerSecond'>;

export interface FaultSetting {
  mode: FaultMode;
  latencyMs: number;
  failureRate: number;
  retryAfterSeconds: number;
  rateLimitPerSecond: number;
}

export type FailingMode = Extract<FaultMode, 'flaky' | 'down' | 'ratelimit' | 'reject'>;

export type FaultDecision =
  | { kind: 'serve'; delayMs: number }
  | { kind: 'hang' }
  | { kind: 'fail'; mode: FailingMode; retryAfterSeconds: number };

export interface FaultModes {
  get(provider: ProviderName): FaultSetting;
  set(target: ProviderName | 'all', request: FaultRequest): void;
  snapshot(): Record<ProviderName, FaultSetting>;
  reset(): void;
  /**
   * What to do with one request to `provider`; `random` is injectable so tests need no luck. A
   * provider that would serve or fail at random (`up`, `slow`, `flaky`) first applies its rate
   * limit; the scripted modes answer exactly as set, so a test of `down` sees 503, never 429.
   */
  decide(provider: ProviderName, random?: () => number): FaultDecision;
}

function settingFrom(request: FaultRequest): ModeSetting {
  return {
    mode: request.mode,
    latencyMs: request.latencyMs ?? DEFAULT_LATENCY_MS,
    failureRate: request.failureRate ?? DEFAULT_FAILURE_RATE,
    retryAfterSeconds: request.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
  };
}

const HEALTHY = settingFrom({ mode: 'up' });

export function createFaultModes(rateLimits: RateLimits = createRateLimits()): FaultModes {
  const settings = new Map<ProviderName, ModeSetting>();
  const get = (provider: ProviderName): FaultSetting => ({
    ...(settings.get(provider) ?? HEALTHY),
    rateLimitPerSecond: rateLimits.limitOf(provider),
  });

  return {
    get,
    set(target, request) {
      const setting = settingFrom(request);
      for (const provider of target === 'all' ? PROVIDER_NAMES : [target]) {
        settings.set(provider, setting);
        if (request.rateLimitPerSecond !== undefined) rateLimits.setLimit(provider, request.rateLimitPerSecond);
      }
    },
    snapshot() {
      const entries = PROVIDER_NAMES.map((provider) => [provider, get(provider)] as const);
      return Object.fromEntries(entries) as Record<ProviderName, FaultSetting>;
    },
    reset() {
      settings.clear();
      rateLimits.reset();
    },
    decide(provider, random = Math.random) {
      const setting = get(provider);
      const fail = (mode: FailingMode): FaultDecision => ({
        kind: 'fail',
        mode,
        retryAfterSeconds: setting.retryAfterSeconds,
      });
      if (setting.mode === 'up' || setting.mode === 'slow' || setting.mode === 'flaky') {
        const rate = rateLimits.take(provider);
        if (!rate.allowed) return { kind: 'fail', mode: 'ratelimit', retryAfterSeconds: rate.retryAfterSeconds };
      }
      switch (setting.mode) {
        case 'up':
          return { kind: 'serve', delayMs: 0 };
        case 'slow':
          return { kind: 'serve', delayMs: setting.latencyMs };
        case 'flaky':
          return random() < setting.failureRate ? fail('flaky') : { kind: 'serve', delayMs: 0 };
        case 'hang':
          return { kind: 'hang' };
        case 'down':
        case 'ratelimit':
        case 'reject':
          return fail(setting.mode);
      }
    },
  };
}
