// One error taxonomy for every call to a third party, so the worker decides what to do from the
// kind of failure and never from a provider's particular status codes:
// - rate limited (HTTP 429): the provider asked us to slow down; wait Retry-After, then try again;
// - transient (5xx, timeouts, refused connections, SMTP 4xx): likely to pass; retry with backoff;
// - permanent (other 4xx, SMTP 5xx): retrying cannot help; give up at once.

export type ProviderName = 'smtp' | 'crm' | 'storage' | 'analytics' | 'alerts';

export abstract class ProviderError extends Error {
  abstract readonly kind: 'transient' | 'permanent' | 'rate-limited';
  constructor(
    readonly provider: ProviderName,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${provider}: ${message}`, options);
  }
}

export class TransientProviderError extends ProviderError {
  override name = 'TransientProviderError';
  readonly kind = 'transient';
}

export class PermanentProviderError extends ProviderError {
  override name = 'PermanentProviderError';
  readonly kind = 'permanent';
}

export class RateLimitedProviderError extends ProviderError {
  override name = 'RateLimitedProviderError';
  readonly kind = 'rate-limited';
  constructor(
    provider: ProviderName,
    message: string,
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(provider, message, options);
  }
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1_000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
