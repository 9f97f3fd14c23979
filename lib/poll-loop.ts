// One polling loop for the background work that claims rows from PostgreSQL in every worker process
// (the outbox relay, the dead-letter alerter): run a pass, wait, run again, until stopped. A pass
// that found a full batch runs again at once; a pass that failed backs off with full jitter (AWS
// Architecture Blog, "Exponential Backoff and Jitter"), so loops in several processes spread out
// instead of retrying in lockstep against a store that has just come back.
import { sleep } from '@/lib/deadline';

export interface PollLoopOptions {
  /** One pass; 'again' when it found more than it could take (a full batch), else 'idle'. */
  pass(signal: AbortSignal): Promise<'again' | 'idle'>;
  /** The wait after an idle pass, and the base of the backoff. */
  idleMs: number;
  /** Ceiling of the backoff while passes fail. */
  maxBackoffMs: number;
  /** The wait before the first pass (default: none). */
  firstWaitMs?: number;
  /** A wait the failure itself asks for (a provider's Retry-After), if longer than the backoff. */
  minimumWaitAfter?(error: unknown): number | undefined;
  /** Told of every failed pass, with the wait chosen; `failures` counts them in a row. */
  onFailure(error: unknown, failures: number, waitMs: number): void;
  /** Told once when a pass succeeds after failures. */
  onRecovery?(failures: number): void;
  random?: () => number;
}

export interface PollLoop {
  /** Stops waiting, lets a running pass see the signal, and resolves once the loop has ended. */
  stop(): Promise<void>;
}

export function startPollLoop(options: PollLoopOptions): PollLoop {
  const { pass, idleMs, maxBackoffMs, firstWaitMs = 0, random = Math.random } = options;
  const stopping = new AbortController();
  let failures = 0;

  const loop = async () => {
    let wait = firstWaitMs;
    for (;;) {
      await sleep(wait, stopping.signal);
      if (stopping.signal.aborted) return;
      try {
        const outcome = await pass(stopping.signal);
        if (failures > 0) options.onRecovery?.(failures);
        failures = 0;
        wait = outcome === 'again' ? 0 : idleMs;
      } catch (error) {
        if (stopping.signal.aborted) return;
        failures += 1;
        wait = random() * Math.min(maxBackoffMs, idleMs * 2 ** failures);
        wait = Math.max(wait, options.minimumWaitAfter?.(error) ?? 0);
        options.onFailure(error, failures, wait);
      }
    }
  };
  const running = loop();

  return {
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
