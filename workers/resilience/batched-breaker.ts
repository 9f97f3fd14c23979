// A worker process's view of a provider's shared breaker (lib/circuit-breaker.ts) that costs no
// Valkey round trip per job while the breaker is closed. Asked and told on every call, the shared
// breaker cost two scripts per job, on the job's path, for a state that is "closed" nearly always.
//
//  - Asking: a process that saw the breaker closed less than `freshForMs` ago lets the call through
//    without asking again. Open and half-open are never taken from memory: every job asks, so a
//    refusal, a probe and its slot are decided by the shared script as before.
//  - Telling: successes are counted here and reported together every `reportEveryMs`; a failure is
//    reported at once, with the successes gathered so far, so the failure ratio is judged on
//    everything this process saw and the breaker opens on the failure that tips it. A probe's
//    result goes out at once, since it decides the breaker's state.
//
// What it costs: after another process opens the breaker, this one may still call the provider
// until its view is `freshForMs` old, or until its own next failure, whichever comes first. With
// the defaults that is at most a second of this process's calls to a provider that is failing, on
// top of the ten or so calls that opened it. docs/failure-model.md has the arithmetic.
import type { BreakerSnapshot, CircuitBreaker } from '@/lib/circuit-breaker';
import type { ProviderBreaker } from '@/workers/runtime/process-job';

/** A second: a small share of the 30 s window the breaker judges, and of its 5 s open period. */
export const FRESH_FOR_MS = 1_000;
/** Four reports a second per provider per process at most: nothing next to the jobs they count. */
export const REPORT_EVERY_MS = 250;

export class BatchedBreaker implements ProviderBreaker {
  private knownClosedAt: number | undefined;
  private successes = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private reporting: Promise<void> = Promise.resolve();

  constructor(
    readonly shared: CircuitBreaker,
    private readonly options: { freshForMs?: number; reportEveryMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  async acquire(): Promise<Awaited<ReturnType<CircuitBreaker['acquire']>>> {
    const freshForMs = this.options.freshForMs ?? FRESH_FOR_MS;
    if (this.knownClosedAt !== undefined && this.now() - this.knownClosedAt < freshForMs) return { allowed: true, probe: false };
    const decision = await this.shared.acquire(this.now());
    this.knownClosedAt = decision.allowed && !decision.probe ? this.now() : undefined;
    return decision;
  }

  async recordSuccess(ticket: { probe: boolean }): Promise<void> {
    if (ticket.probe) {
      await this.shared.recordSuccess(ticket, this.now());
      return;
    }
    this.successes += 1;
    this.timer ??= setTimeout(() => void this.report().catch(() => undefined), this.options.reportEveryMs ?? REPORT_EVERY_MS).unref();
  }

  async recordFailure(ticket: { probe: boolean }): Promise<void> {
    this.knownClosedAt = undefined;
    if (ticket.probe) {
      await this.shared.recordFailure(ticket, this.now());
      return;
    }
    this.failures += 1;
    await this.report();
  }

  /** Sends what was gathered, one report at a time; what a failed report held is sent with the next. */
  report(): Promise<void> {
    this.reporting = this.reporting.then(async () => {
      clearTimeout(this.timer);
      this.timer = undefined;
      const counts = { successes: this.successes, failures: this.failures };
      if (counts.successes + counts.failures === 0) return;
      this.successes = 0;
      this.failures = 0;
      let after: BreakerSnapshot;
      try {
        after = await this.shared.report(counts, this.now());
      } catch (error) {
        this.successes += counts.successes;
        this.failures += counts.failures;
        throw error;
      }
      this.knownClosedAt = after.state === 'closed' && counts.failures === 0 ? this.now() : undefined;
    });
    const done = this.reporting;
    // A failed report must not stop the ones after it.
    this.reporting = done.catch(() => undefined);
    return done;
  }

  /** Reports what is left (shutdown). */
  async close(): Promise<void> {
    await this.report().catch(() => undefined);
  }
}
