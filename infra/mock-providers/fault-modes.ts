// The fault each provider is set to inject, and the decision it implies for one request. Kept
// protocol-free: the HTTP and SMTP servers each translate a decision into their own status codes,
// so a mode means the same thing on both (CONTRACT.md, "Modes").
import { z } from 'zod';
import { PROVIDER_NAMES, type ProviderName } from './providers';

export const FAULT_MODES = ['up', 'slow', 'flaky', 'down', 'hang', 'ratelimit', 'reject'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

// Defaults chosen so a demo shows the effect at once without touching a worker's 10 s provider
// timeout: one second of latency, a coin toss of failures, the shortest honest Retry-After.
const DEFAULT_LATENCY_MS = 1_000;
const DEFAULT_FAILURE_RATE = 0.5;
const DEFAULT_RETRY_AFTER_SECONDS = 1;
// Long enough to outlast any client timeout, short enough that a typo cannot park a request for days.
const MAX_LATENCY_MS = 10 * 60 * 1_000;

export const faultRequestSchema = z.strictObject({
  mode: z.enum(FAULT_MODES),
  latencyMs: z.number().int().min(0).max(MAX_LATENCY_MS).optional(),
  failureRate: z.number().min(0).max(1).optional(),
  retryAfterSeconds: z.number().int().min(0).max(3_600).optional(),
});
export type FaultRequest = z.output<typeof faultRequestSchema>;

export interface FaultSetting {
  mode: FaultMode;
  latencyMs: number;
  failureRate: number;
  retryAfterSeconds: number;
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
  /** What to do with one request to `provider`; `random` is injectable so tests need no luck. */
  decide(provider: ProviderName, random?: () => number): FaultDecision;
}

function settingFrom(request: FaultRequest): FaultSetting {
  return {
    mode: request.mode,
    latencyMs: request.latencyMs ?? DEFAULT_LATENCY_MS,
    failureRate: request.failureRate ?? DEFAULT_FAILURE_RATE,
    retryAfterSeconds: request.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
  };
}

const HEALTHY = settingFrom({ mode: 'up' });

export function createFaultModes(): FaultModes {
  const settings = new Map<ProviderName, FaultSetting>();
  const get = (provider: ProviderName) => settings.get(provider) ?? HEALTHY;

  return {
    get,
    set(target, request) {
      const setting = settingFrom(request);
      for (const provider of target === 'all' ? PROVIDER_NAMES : [target]) {
        settings.set(provider, setting);
      }
    },
    snapshot() {
      const entries = PROVIDER_NAMES.map((provider) => [provider, get(provider)] as const);
      return Object.fromEntries(entries) as Record<ProviderName, FaultSetting>;
    },
    reset() {
      settings.clear();
    },
    decide(provider, random = Math.random) {
      const setting = get(provider);
      const fail = (mode: FailingMode): FaultDecision => ({
        kind: 'fail',
        mode,
        retryAfterSeconds: setting.retryAfterSeconds,
      });
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
