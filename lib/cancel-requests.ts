// What the web process and the worker processes share about cancelling a job
// (docs/failure-model.md#cancelling-a-job): the pub/sub channel on which the admin asks every worker
// process to abort an active job (only the process running it can), the request sent on it, and the
// failure message that marks a job as cancelled rather than failed.
import { z } from 'zod';
import { QUEUE_NAMES } from '@/lib/config';

export const CANCEL_REASON_MAX_LENGTH = 500;

/**
 * Job ids here are derived from payload ids (`sync-crm-contact-<uuid>`) or BullMQ's counters; the
 * bound keeps a request's key lookups and log lines small.
 */
export const jobIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9:_.-]{0,199}$/, 'must be a job id: letters, digits, and : _ . - (at most 200)');

export const cancelReasonSchema = z
  .string()
  .trim()
  .min(1, 'Give a reason for cancelling.')
  .max(CANCEL_REASON_MAX_LENGTH, `Keep the reason under ${CANCEL_REASON_MAX_LENGTH} characters.`);

const cancelRequest = z.object({ queue: z.enum(QUEUE_NAMES), jobId: jobIdSchema, reason: cancelReasonSchema });

export type CancelRequest = z.infer<typeof cancelRequest>;

/**
 * One channel for all queues under the prefix. Classic pub/sub reaches every subscriber whichever
 * node of a Valkey Cluster it is connected to, so the channel needs no hash tag.
 */
export function cancellationChannel(basePrefix: string): string {
  return `${basePrefix}:job-cancellations`;
}

export function encodeCancelRequest(request: CancelRequest): string {
  return JSON.stringify(request);
}

/** The request, or undefined for a message that is not one (anyone with access may publish). */
export function parseCancelRequest(message: string): CancelRequest | undefined {
  try {
    const parsed = cancelRequest.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const CANCELLED_PREFIX = 'cancelled by an operator: ';

/**
 * The failure message of a cancelled job. The mark is in the message because the message is what
 * survives every path a failure takes: the sandbox's child sends errors to its parent as JSON,
 * BullMQ keeps only the message as the job's failedReason, and the reconciler sees nothing else.
 */
export function cancelledMessage(reason: string): string {
  return `${CANCELLED_PREFIX}${reason}`;
}

export function isCancelledFailure(failedReason: string | undefined): boolean {
  return failedReason?.startsWith(CANCELLED_PREFIX) ?? false;
}
