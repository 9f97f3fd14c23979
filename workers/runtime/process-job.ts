// Runs one attempt of a job and turns its outcome into what BullMQ acts on. Shared by the
// in-process processors and the avatar queue's sandboxed one.
//
//   payload fails its schema          → UnrecoverableError: dead letter, no retries
//   circuit breaker open              → queue rate-limited until it may probe; job back to wait,
//                                       no attempt spent
//   provider rate-limited us (429)    → queue rate-limited for Retry-After; no attempt spent
//   provider refused for good (4xx)   → UnrecoverableError: dead letter, no retries
//   transient failure or timeout      → error: BullMQ retries with the queue's backoff
//   cancelled by an operator          → UnrecoverableError: dead letter of kind 'cancelled'
//   aborted by the worker's shutdown  → handed back to the queue (delayed until now); no attempt spent
//   nothing to do, on purpose         → completes, with its skip recorded for the reconciler
//                                       (job-outcomes.ts)
import { DelayedError, RateLimitError, UnrecoverableError } from 'bullmq';
import { cancelledMessage } from '@/lib/cancel-requests';
import { metrics } from '@/lib/metrics';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { JOB_HANDLERS } from '@/workers/jobs/job-handlers';
import {
  PermanentProviderError,
  RateLimitedProviderError,
  TransientProviderError,
} from '@/workers/providers/provider-errors';
import { attemptSignal } from '@/workers/runtime/job-cancellation';
import { recordSkip } from '@/workers/runtime/job-outcomes';

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
  /** Puts the job back in the queue without counting the attempt (job.moveToDelayed with its token). */
  handBack?: () => Promise<void>;
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

  const attempt = attemptSignal(
    controls.signal,
    handler.contract.timeoutMs,
    () => new JobTimeoutError(`${job.name} ran past its ${handler.contract.timeoutMs} ms limit`),
  );

  try {
    const outcome = await handler.handle(payload.data, { ...ctx, signal: attempt.signal });
    if (outcome.status === 'skipped') {
      const { contract } = handler;
      await recordSkip(ctx.pool, { queue: contract.queue, jobName: job.name, jobId: contract.jobId(payload.data), reason: outcome.reason });
    }
    await controls.breaker?.recordSuccess(ticket);
    return outcome;
  } catch (error) {
    // Checked first: whatever the aborted call threw, the attempt ended because it was stopped,
    // and that says nothing about the provider, so the breaker hears nothing of it.
    const stopped = attempt.cause();
    if (stopped?.kind === 'operator') throw cancelled(stopped.reason, held, error);
    if (stopped?.kind === 'shutdown' && controls.handBack) return handBack(controls.handBack, held);
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
    if (stopped?.kind === 'timeout' && !(error instanceof TransientProviderError)) throw stopped.error;
    throw error;
  } finally {
    attempt.dispose();
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

/** Fails the job for good with the message that marks it as cancelled (lib/cancel-requests.ts). */
function cancelled(reason: string, labels: { queue: string; job: string }, cause: unknown): UnrecoverableError {
  metrics().jobsCancelled.inc({ queue: labels.queue, reason: 'operator' });
  return permanent(cancelledMessage(reason), cause);
}

/**
 * Puts the job back before the worker stops, for the next worker to run: a delay of zero makes it
 * due at once, and BullMQ's DelayedError leaves the moved job alone and counts no attempt.
 */
async function handBack(moveBack: () => Promise<void>, labels: { queue: string; job: string }): Promise<never> {
  await moveBack();
  metrics().jobsCancelled.inc({ queue: labels.queue, reason: 'shutdown' });
  throw new DelayedError();
}

function permanent(message: string, cause?: unknown): UnrecoverableError {
  const error = new UnrecoverableError(message);
  if (cause !== undefined) error.cause = cause;
  return error;
}
