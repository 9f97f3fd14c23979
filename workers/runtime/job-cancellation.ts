// How a running attempt is stopped (docs/failure-model.md#cancelling-a-job). Every attempt has one
// AbortSignal: BullMQ's (fired by worker.cancelJob and worker.cancelAllJobs, and forwarded into the
// avatar sandbox) joined with the job's own deadline. Why it fired decides what becomes of the job:
//
//   an operator cancelled it    → fails for good (UnrecoverableError), dead letter of kind 'cancelled'
//   the worker is shutting down → handed back to the queue, no attempt spent
//   its deadline passed         → a transient failure, retried like any other
//   aborted for another reason  → whatever the aborted call threw (a transient failure): only the
//                                 reasons below carry a decision
import type { Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { cancellationChannel, parseCancelRequest } from '@/lib/cancel-requests';
import type { QueueName } from '@/lib/config';
import type { Logger } from '@/lib/log';
import type { Valkey } from '@/lib/valkey';

export type AbortCause = { kind: 'operator'; reason: string } | { kind: 'shutdown' } | { kind: 'timeout'; error: Error };

// Abort reasons are strings: the sandbox forwards an abort to its child over IPC as JSON, where an
// Error would arrive as an empty object.
const OPERATOR_PREFIX = 'cancel:operator:';
export const SHUTDOWN_ABORT = 'cancel:shutdown';

export function operatorAbort(reason: string): string {
  return `${OPERATOR_PREFIX}${reason}`;
}

export interface AttemptSignal {
  signal: AbortSignal;
  /** Why the signal fired; undefined while it has not, or for a reason that is none of ours. */
  cause(): AbortCause | undefined;
  dispose(): void;
}

/** The attempt's signal: BullMQ's cancellation, if the worker gave one, and the job's deadline. */
export function attemptSignal(cancellation: AbortSignal | undefined, timeoutMs: number, timeoutError: () => Error): AttemptSignal {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(timeoutError()), timeoutMs);
  return {
    signal: cancellation ? AbortSignal.any([cancellation, deadline.signal]) : deadline.signal,
    cause() {
      const cancelled = cancellation?.aborted ? causeOf(cancellation.reason) : undefined;
      if (cancelled) return cancelled;
      if (deadline.signal.aborted) return { kind: 'timeout', error: deadline.signal.reason as Error };
      return undefined;
    },
    dispose: () => clearTimeout(timer),
  };
}

function causeOf(reason: unknown): AbortCause | undefined {
  if (reason === SHUTDOWN_ABORT) return { kind: 'shutdown' };
  if (typeof reason === 'string' && reason.startsWith(OPERATOR_PREFIX)) return { kind: 'operator', reason: reason.slice(OPERATOR_PREFIX.length) };
  return undefined;
}

export interface CancellationListener {
  /** Settles once the subscription is in place (or could not be made, which is logged). */
  ready: Promise<void>;
  close(): void;
}

/**
 * Subscribes this process to the admin's cancel requests and aborts the named job if one of its
 * workers runs it. Every worker process gets every request; all but the one running the job ignore it.
 */
export function listenForCancellations({
  connection,
  basePrefix,
  workers,
  log,
}: {
  connection: Valkey;
  basePrefix: string;
  workers: ReadonlyMap<QueueName, Worker>;
  log: Logger;
}): CancellationListener {
  // A subscribed connection can do nothing else, hence its own; ioredis subscribes it again after
  // a reconnect. Outages are reported by the connection it copies.
  const subscriber: Valkey = connection instanceof Cluster ? connection.duplicate() : connection.duplicate();
  subscriber.on('error', () => undefined);
  subscriber.on('message', (_channel: string, message: string) => {
    const request = parseCancelRequest(message);
    const worker = request && workers.get(request.queue);
    if (!request || !worker) return;
    if (worker.cancelJob(request.jobId, operatorAbort(request.reason))) {
      log.info('job cancelled by an operator; aborting its attempt', { queue: request.queue, id: request.jobId });
    }
  });
  const ready = subscriber.subscribe(cancellationChannel(basePrefix)).then(
    () => undefined,
    (error: unknown) => log.error('could not subscribe to cancel requests', { error: error instanceof Error ? error.message : String(error) }),
  );
  return { ready, close: () => subscriber.disconnect() };
}
