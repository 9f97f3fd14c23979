// What a provider's fault can be set to, the request that sets it, and the header that proves the
// caller may: the vocabulary the mock providers' control routes (PUT /__faults/<provider>) and their
// clients (the admin's fault panel, the e2e suite) share. Types, a zod schema and a pure function
// only, no state and no server, so the web app can check a request before relaying it
// (app/_admin/provider-fault-requests.ts) without loading any mock provider.
import { z } from 'zod';

export const FAULT_MODES = ['up', 'slow', 'flaky', 'down', 'hang', 'ratelimit', 'reject'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

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

/** A provider's whole setting, as GET /__faults reports it. */
export interface FaultSetting {
  mode: FaultMode;
  latencyMs: number;
  failureRate: number;
  retryAfterSeconds: number;
  rateLimitPerSecond: number;
}

/**
 * The headers a call to the mocks' control or inspect routes carries: the bearer token when
 * MOCKS_TOKEN is set (control-auth.ts checks it), none otherwise.
 */
export function controlHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}
