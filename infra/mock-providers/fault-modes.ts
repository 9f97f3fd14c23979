// The fault each provider is set to inject, and the decision it implies for one request. Kept
// protocol-free: the HTTP and SMTP servers each translate a decision into their own status codes,
// so a mode means the same thing on both (docs/operations.md, "Mock providers").
import { PROVIDER_NAMES, type ProviderName } from '@/lib/providers';
import { createRateLimits, type RateLimits } from './rate-limits';
import type { FaultMode, FaultRequest, FaultSetting } from './fault-control';

export { FAULT_MODES, faultRequestSchema, type FaultMode, type FaultRequest, type FaultSetting } from './fault-control';

// Defaults chosen so a demo shows the effect at once without touching a worker's 10 s provider
// timeout: one second of latency, a coin toss of failures, the shortest honest Retry-After.
const DEFAULT_LATENCY_MS = 1_000;
const DEFAULT_FAILURE_RATE = 0.5;
const DEFAULT_RETRY_AFTER_SECONDS = 1;

type ModeSetting = Omit<FaultSetting, 'rateLimitPerSecond'>;

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
