// Bounded waiting, in one place: a call raced against a deadline, a sleep that a signal cuts short,
// and a close that is graceful first and forced after. Every wait on Valkey or PostgreSQL that must
// not hang its caller goes through these: a connection that has never connected makes BullMQ wait
// with no timeout of its own, and `worker.close()` waits forever while Valkey is gone.

/** `work`, or `error()` thrown once `ms` have passed without it settling. */
export async function withDeadline<T>(work: Promise<T>, ms: number, error: () => Error): Promise<T> {
  // The losing call may still reject later; that is expected and must not surface as unhandled.
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when `work` settles (either way) within `ms`; never rejects. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const late = new Error('late');
  try {
    await withDeadline(work, ms, () => late);
    return true;
  } catch (error) {
    return error !== late;
  }
}

/** Waits `ms`, or less if `signal` fires; never rejects, and leaves no timer or listener behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const wake = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal?.addEventListener('abort', wake, { once: true });
  });
}

export interface Closable {
  /** The graceful close: lets running work finish. */
  close(): Promise<unknown>;
  /** The forced close, after the grace period; absent: nothing more to try. */
  forceClose?(): Promise<unknown>;
}

/**
 * Closes gracefully for at most `graceMs`, then forcibly for at most `forceMs`, and returns how it
 * went; never waits longer than both, whatever the connection does. What is abandoned is left to
 * whatever recovers it (for BullMQ workers: the stalled-job check hands their jobs to others).
 */
export async function closeWithGrace(
  target: Closable,
  { graceMs, forceMs = 1_000 }: { graceMs: number; forceMs?: number },
): Promise<'closed' | 'forced' | 'abandoned'> {
  if (await settlesWithin(target.close(), graceMs)) return 'closed';
  if (target.forceClose && (await settlesWithin(target.forceClose(), forceMs))) return 'forced';
  return 'abandoned';
}
