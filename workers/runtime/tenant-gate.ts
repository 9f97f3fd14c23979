// The worker's side of per-tenant limits (lib/tenant-limits.ts): admits a job or says until when
// to hold it, and when a job ends, frees its place and calls its tenant's next held job in.
// docs/backpressure.md#per-tenant-limits-in-the-worker.
import { DelayedError, type Queue } from 'bullmq';
import type { Config, QueueName } from '@/lib/config';
import type { Logger } from '@/lib/log';
import { metrics } from '@/lib/metrics';
import { TenantLimits, tenantOf } from '@/lib/tenant-limits';
import type { Valkey } from '@/lib/valkey';
import { ALL_JOBS } from '@/workers/jobs/job-contracts';

/** A held job comes back by itself after this at the latest, should no finishing job call it in. */
const MAX_HOLD_MS = 5 * 60_000;
/** Nor sooner than this: a line that moves faster is moved by the calls. */
const MIN_HOLD_MS = 1_000;
/**
 * A held job may be called in before its own worker has finished putting it back as delayed (one
 * round trip); the call is tried again this often, this many times.
 */
const PROMOTE_RETRY_MS = 20;
const PROMOTE_TRIES = 4;

export type GateDecision =
  | { admitted: true; release(): Promise<void> }
  | { admitted: false; reason: 'tenant_concurrency' | 'tenant_rate'; untilMs: number };

export class TenantGate {
  /** This process's running mean of a job's run time, to space out how long held jobs wait. */
  private meanRunMs = 1_000;

  constructor(
    private readonly limits: TenantLimits,
    private readonly queue: Queue,
    private readonly log: Logger,
  ) {}

  get queueName(): string {
    return this.queue.name;
  }

  async admit(job: { id?: string; data: unknown }): Promise<GateDecision> {
    const jobId = job.id ?? '';
    const tenant = tenantOf(job);
    const admission = await this.limits.admit(jobId, tenant);
    if (!admission.admitted) {
      const now = Date.now();
      if (admission.reason === 'rate') return { admitted: false, reason: 'tenant_rate', untilMs: now + admission.retryInMs };
      return { admitted: false, reason: 'tenant_concurrency', untilMs: now + this.holdMs(admission.placeInLine) };
    }
    const startedAt = Date.now();
    return {
      admitted: true,
      release: async () => {
        this.meanRunMs = 0.9 * this.meanRunMs + 0.1 * (Date.now() - startedAt);
        try {
          const next = await this.limits.release(jobId, tenant);
          if (next) void this.callIn(next, tenant);
        } catch (error) {
          // The place frees itself when its lease ends; the line then moves by the hold times.
          this.log.warn('could not free a tenant place', { queue: this.queue.name, error: (error as Error).message });
        }
      },
    };
  }

  /**
   * How long a job `place` jobs from the front of its tenant's line waits if no finishing job calls
   * it in: twice the time the line needs to reach it at the cap, so calls, not timers, move it.
   */
  private holdMs(place: number): number {
    const expected = ((place + 1) * this.meanRunMs) / Math.max(1, this.limits.limit.concurrency);
    return Math.min(MAX_HOLD_MS, Math.max(MIN_HOLD_MS, Math.round(2 * expected)));
  }

  /**
   * Moves a held job from delayed to waiting, at the back of the queue's line. A job that is gone
   * (cancelled, removed) passes its call on to the next in line, at most `passes` times.
   */
  private async callIn(jobId: string, tenant: string, passes = PROMOTE_TRIES): Promise<void> {
    for (let attempt = 1; attempt <= PROMOTE_TRIES; attempt += 1) {
      try {
        await this.queue.getBackend().promote(jobId);
        return;
      } catch {
        // Not delayed: not yet (its worker is still putting it back), or any more (back by its own
        // timer, or gone).
        if (attempt < PROMOTE_TRIES) await new Promise((resolve) => setTimeout(resolve, PROMOTE_RETRY_MS));
      }
    }
    if (passes > 0 && !(await this.queue.getJob(jobId).catch(() => undefined))) {
      const next = await this.limits.release('', tenant).catch(() => undefined);
      if (next) await this.callIn(next, tenant, passes - 1);
    }
  }
}

/**
 * Runs `attempt` in a place of the job's tenant, or holds the job: back to delayed until `untilMs`
 * through `delay` (job.moveToDelayed with the job's token), then DelayedError, so BullMQ counts no
 * attempt and the worker fetches the next job at once.
 */
export async function inTenantPlace<T>(
  gate: TenantGate | undefined,
  job: { id?: string; name: string; data: unknown },
  delay: (untilMs: number) => Promise<void>,
  attempt: () => Promise<T>,
): Promise<T> {
  if (!gate) return attempt();
  const decision = await gate.admit(job);
  if (!decision.admitted) {
    metrics().jobRateLimited.inc({ queue: gate.queueName, job: job.name, reason: decision.reason });
    await delay(decision.untilMs);
    throw new DelayedError();
  }
  try {
    return await attempt();
  } finally {
    await decision.release();
  }
}

/**
 * Past its longest attempt (the queue's longest job deadline), a job still holding its place has
 * lost its worker; this much longer covers the release's own way back to Valkey.
 */
const LEASE_MARGIN_MS = 10_000;

/** The gate of one queue, when TENANT_LIMITS gives it limits. */
export function tenantGateFor(
  queue: Queue,
  { config, connection, log }: { config: Config; connection: Valkey; log: Logger },
): TenantGate | undefined {
  const limit = config.tenantLimits[queue.name as QueueName];
  if (!limit) return undefined;
  const longestRunMs = Math.max(...ALL_JOBS.filter((contract) => contract.queue === queue.name).map((contract) => contract.timeoutMs));
  return new TenantGate(new TenantLimits(connection, queue.qualifiedName, limit, longestRunMs + LEASE_MARGIN_MS), queue, log);
}
