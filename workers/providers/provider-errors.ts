// One error taxonomy for every call to a third party, so the worker decides what to do from the
// kind of failure and never from a provider's particular status codes:
// - rate limited (HTTP 429): the provider asked us to slow down; wait Retry-After, then try again;
// - transient (5xx, timeouts, refused connections, SMTP 4xx): likely to pass; retry with backoff;
// - permanent (other 4xx, SMTP 5xx, an untrusted TLS certificate, refused credentials): retrying
//   cannot help; give up at once.
import { PROVIDER_VARIABLES, type ProviderVariables } from '@/lib/provider-endpoints';

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

/**
 * Node's codes for a certificate it does not trust. Each is a fact about the provider's certificate
 * or our trust store, the same on every attempt, so retrying would only fill the queue.
 */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * `cause`'s certificate code when it is one of those above, looking through wrapped causes and at
 * nodemailer's `originalCode`, where it keeps the TLS code under its own (ESOCKET).
 */
function certificateCode(cause: unknown): string | undefined {
  for (let error = cause, depth = 0; error instanceof Error && depth < 5; error = error.cause, depth++) {
    const { code, originalCode } = error as Error & { code?: unknown; originalCode?: unknown };
    for (const candidate of [code, originalCode]) {
      if (typeof candidate === 'string' && UNTRUSTED_CERTIFICATE_CODES.has(candidate)) return candidate;
    }
  }
  return undefined;
}

/** A permanent error naming the host and the fix when `cause` is an untrusted certificate. */
export function untrustedCertificate(
  provider: ProviderName,
  host: string,
  cause: unknown,
  variables: ProviderVariables = PROVIDER_VARIABLES[provider],
): PermanentProviderError | undefined {
  const code = certificateCode(cause);
  if (!code) return undefined;
  return new PermanentProviderError(
    provider,
    `the TLS certificate of ${host} is not trusted (${code}); add its CA with NODE_EXTRA_CA_CERTS or fix ${variables.url}`,
    { cause },
  );
}

/** The provider refused our credentials: permanent until someone changes them. */
export function authRefusal(
  provider: ProviderName,
  what: string,
  options?: { cause?: unknown },
  variables: ProviderVariables = PROVIDER_VARIABLES[provider],
): PermanentProviderError {
  return new PermanentProviderError(provider, `${what}; the credentials were refused: check ${variables.key}`, options);
}
