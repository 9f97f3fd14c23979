// Runs one attempt of a job and turns its outcome into what BullMQ acts on. Shared by the
// in-process processors and the avatar queue's sandboxed one.
//
//   payload fails its schema          → UnrecoverableError: dead letter, no retries
//   circuit breaker open              → queue rate-limited until it may probe; job back to wait,
//                                       no attempt spent
//   provider rate-limited us (429)    → queue rate-limited for Retry-After; no attempt spent
//   provider refused for good (4xx)   → UnrecoverableError: dead letter, no retries
//   transient failure or timeout      → error: BullMQ retries with the queue's backoff
import { RateLimitError, UnrecoverableError } from 'bullmq';
import { metrics } from '@/lib/metrics';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { JOB_HANDLERS } from '@/workers/jobs/job-handlers';
import {
  PermanentProviderError,
  RateLimitedProviderError,
  TransientProviderError,
} from '@/workers/providers/provider-errors';

export interface RunnableJob {
  name: string;
  data: unknown;
}

/** The part of circuit-breaker.ts the runner needs. */
export interface ProviderBreaker {
  acquire(): Promise<{ allowed: true; probe: boolean } | { allowed: false; retryInMs: number }>;
  recordSuccess(ticket: { probe: boolean }): Promise<void>;
  recordFailure(ticket: { probe: boolean }): Promise<void>;
}

export interface JobControls {
  /** Stops the whole queue taking jobs for `ms` (BullMQ's queue.rateLimit). */
  rateLimit(ms: number): Promise<void>;
  /** The job's provider's breaker; absent when breakers are turned off. */
  breaker?: ProviderBreaker;
  /** BullMQ's cancellation signal for this attempt (worker.cancelJob, shutdown). */
  signal?: AbortSignal;
}

export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}

export async function processJob(job: RunnableJob, ctx: HandlerContext, controls: JobControls): Promise<HandlerOutcome> {
  const handler = JOB_HANDLERS.get(job.name);
  if (!handler) throw permanent(`no handler for job "${job.name}"`);

  const payload = handler.contract.payload.safeParse(job.data);
  if (!payload.success) {
    throw permanent(`invalid payload for ${job.name}: ${payload.error.issues.map((issue) => issue.message).join('; ')}`);
  }

  const ticket = controls.breaker ? await controls.breaker.acquire() : { allowed: true as const, probe: false };
  const held = { queue: handler.contract.queue, job: job.name };
  if (!ticket.allowed) return waitWithoutSpendingAnAttempt(controls, ticket.retryInMs, { ...held, reason: 'breaker_open' });

  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new JobTimeoutError(`${job.name} ran past its ${handler.contract.timeoutMs} ms limit`)),
    handler.contract.timeoutMs,
  );
  const signal = controls.signal ? AbortSignal.any([controls.signal, deadline.signal]) : deadline.signal;

  try {
    const outcome = await handler.handle(payload.data, { ...ctx, signal });
    await controls.breaker?.recordSuccess(ticket);
    return outcome;
  } catch (error) {
    if (error instanceof RateLimitedProviderError) {
      // A 429 proves the provider is up: as a probe's answer it closes the breaker.
      await controls.breaker?.recordSuccess(ticket);
      return waitWithoutSpendingAnAttempt(controls, error.retryAfterMs, { ...held, reason: 'provider_rate_limited' });
    }
    if (error instanceof PermanentProviderError) {
      await controls.breaker?.recordSuccess(ticket);
      throw permanent(error.message, error);
    }
    if (error instanceof TransientProviderError) await controls.breaker?.recordFailure(ticket);
    // A deadline that fired while the handler was between provider calls surfaces here as-is.
    if (deadline.signal.aborted && !(error instanceof TransientProviderError)) throw deadline.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Puts the job back to waiting and stops the queue for `ms`, without counting an attempt: BullMQ
 * moves a job that throws RateLimitError back to wait and honours the queue's rate-limit key.
 */
async function waitWithoutSpendingAnAttempt(
  controls: JobControls,
  ms: number,
  labels: { queue: string; job: string; reason: 'breaker_open' | 'provider_rate_limited' },
): Promise<never> {
  metrics().jobRateLimited.inc(labels);
  await controls.rateLimit(Math.max(1, Math.ceil(ms)));
  throw new RateLimitError();
}

function permanent(message: string, cause?: unknown): UnrecoverableError {
  const error = new UnrecoverableError(message);
  if (cause !== undefined) error.cause = cause;
  return error;
}
