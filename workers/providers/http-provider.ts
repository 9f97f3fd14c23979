// Calls an HTTP provider with a deadline and an idempotency key, and turns every way the call can
// fail into the taxonomy of provider-errors.ts.
import { SpanKind } from '@opentelemetry/api';
import { observeProviderCall } from '@/workers/providers/observe-provider-call';
import { inSpan } from '@/lib/tracing';
import {
  PermanentProviderError,
  RateLimitedProviderError,
  TransientProviderError,
  parseRetryAfterMs,
  type ProviderName,
} from '@/workers/providers/provider-errors';

/** When a 429 carries no usable Retry-After, wait this long: long enough to matter, short enough to recover. */
const DEFAULT_RETRY_AFTER_MS = 1_000;

export interface ProviderRequest {
  provider: ProviderName;
  method: 'POST' | 'PUT';
  url: string;
  idempotencyKey: string;
  body: unknown;
  contentType?: string;
  timeoutMs: number;
  /** The job's cancellation signal; the call is aborted when it fires. */
  signal?: AbortSignal;
}

export function callProvider<Response>(request: ProviderRequest): Promise<Response> {
  const path = new URL(request.url).pathname;
  return inSpan(
    `${request.provider} ${request.method} ${path}`,
    { kind: SpanKind.CLIENT, attributes: { 'provider.name': request.provider, 'http.request.method': request.method, 'url.path': path } },
    () => observeProviderCall(request.provider, () => send<Response>(request)),
  );
}

async function send<Response>({
  provider,
  method,
  url,
  idempotencyKey,
  body,
  contentType = 'application/json',
  timeoutMs,
  signal,
}: ProviderRequest): Promise<Response> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let response: globalThis.Response;
  try {
    response = await fetch(url, {
      method,
      headers: { 'content-type': contentType, 'idempotency-key': idempotencyKey },
      body: contentType === 'application/json' ? JSON.stringify(body) : (body as BodyInit),
      signal: abort,
    });
  } catch (cause) {
    const reason = timeout.aborted
      ? `no answer within ${timeoutMs} ms`
      : signal?.aborted
        ? `cancelled: ${abortReason(signal)}`
        : 'unreachable';
    throw new TransientProviderError(provider, `${method} ${new URL(url).pathname} ${reason}`, { cause });
  }

  const text = await response.text().catch(() => '');
  if (response.ok) return (text === '' ? {} : JSON.parse(text)) as Response;

  const what = `${method} ${new URL(url).pathname} answered ${response.status} ${text.slice(0, 200)}`.trim();
  if (response.status === 429) {
    const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after')) ?? DEFAULT_RETRY_AFTER_MS;
    throw new RateLimitedProviderError(provider, what, retryAfterMs);
  }
  if (response.status >= 500 || response.status === 408) throw new TransientProviderError(provider, what);
  throw new PermanentProviderError(provider, what);
}

/** Why a job's signal fired: its deadline (JobTimeoutError), a cancel request, or shutdown. */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
}
