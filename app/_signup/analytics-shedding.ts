// Load shedding at the producer. When the analytics queue holds more than ANALYTICS_SHED_DEPTH jobs
// not yet started, a new signup keeps its analytics event with probability
// ANALYTICS_SHED_KEEP_RATIO; a dropped event gets no outbox row at all, and
// signup_analytics_events_shed_total counts it. Only analytics is ever shed: the welcome email, the
// CRM contact, the avatar and the follow-up email are promises to the user or to sales, while an
// analytics event that arrives minutes late is worth little and a sample still shows the trend.
//
// The backlog is waiting + prioritized + delayed: every job the workers still owe that is not
// running. Delayed counts because that is where analytics jobs sit between retries (30 attempts over
// about 3 h, retry-policy.ts), so a sick provider grows the backlog as surely as a burst does, and
// both hold Valkey memory. Active jobs are left out: they are bounded by the workers' concurrency.
//
// The signup path makes no Valkey round trip for this. shouldKeep() decides from the last reading
// and, when that is older than a second, starts one refresh in the background that concurrent
// callers share; one round trip a second per web process is nothing next to signups.
//
// Unknown never sheds. A refresh that fails or misses its deadline (Valkey down or slow), or a
// reading too old to trust, keeps every event: the outbox records it and the relay sends it when
// Valkey is back. Shedding answers overload; an outage is the outbox's job, not a reason to lose data.
//
// A shed event is gone for good, on purpose: the relay sends only outbox rows, and the reconciler
// (workers/maintenance/reconciler.ts) looks only at dispatched outbox rows whose effect is missing, so neither
// ever recreates it. The status page shows the missing row as not-queued. The synchronous baseline
// (sync-signup.ts) is not shed: it calls the providers inline and has no queue to protect.
import 'server-only';
import type { Queue } from 'bullmq';
import { withDeadline } from '@/lib/deadline';
import { metrics } from '@/lib/metrics';

/**
 * How old a reading may be before the next signup asks for a new one. A backlog worth shedding at
 * (10,000 jobs by default) takes about a minute to drain at the analytics rate limit (160/s), so a
 * second-old reading is current enough.
 */
export const SAMPLE_EVERY_MS = 1_000;

/**
 * A refresh gives up after this long: the producer connection's command timeout (lib/valkey.ts).
 * BullMQ waits without a limit for a connection that has never connected, and a refresh that never
 * settled would block every later one, since concurrent callers share it.
 */
export const SAMPLE_DEADLINE_MS = 500;

/** The states counted as backlog (see the header for why delayed is in and active is out). */
const BACKLOG_STATES = ['waiting', 'prioritized', 'delayed'] as const;

/** The one Queue getter the shedder uses; tests may wrap it to count calls. */
export type BacklogSource = Pick<Queue, 'getJobCounts'>;

export interface AnalyticsSheddingOptions {
  /** Backlog above which events are sampled (ANALYTICS_SHED_DEPTH); 0 turns shedding off. */
  depth: number;
  /** Share of events kept while the backlog is above `depth` (ANALYTICS_SHED_KEEP_RATIO), 0 to 1. */
  keepRatio: number;
  sampleEveryMs?: number;
  sampleDeadlineMs?: number;
  /** Uniform in [0, 1), like Math.random; injectable so a test decides which events are kept. */
  random?: () => number;
  now?: () => number;
}

interface Reading {
  /** Undefined when the last refresh failed: unknown. */
  backlog: number | undefined;
  at: number;
}

export class AnalyticsShedder {
  private readonly depth: number;
  private readonly keepRatio: number;
  private readonly sampleEveryMs: number;
  private readonly sampleDeadlineMs: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private reading: Reading | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly queue: BacklogSource,
    options: AnalyticsSheddingOptions,
  ) {
    if (!(options.keepRatio >= 0 && options.keepRatio <= 1)) {
      throw new RangeError(`keepRatio must be between 0 and 1, got ${options.keepRatio}`);
    }
    this.depth = options.depth;
    this.keepRatio = options.keepRatio;
    this.sampleEveryMs = options.sampleEveryMs ?? SAMPLE_EVERY_MS;
    this.sampleDeadlineMs = options.sampleDeadlineMs ?? SAMPLE_DEADLINE_MS;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /**
   * Whether the next signup records its analytics event. Never waits: decides from the last
   * reading, and starts a refresh when that is due. The caller counts a drop with countShed() once
   * the signup is saved, so a signup that is refused anyway is not counted.
   */
  shouldKeep(): boolean {
    if (this.depth === 0) return true;
    const now = this.now();
    if (!this.reading || now - this.reading.at >= this.sampleEveryMs) void this.refresh();
    const backlog = this.backlog(now);
    if (backlog === undefined || backlog <= this.depth) return true;
    return this.random() < this.keepRatio;
  }

  /** One signup was saved without its analytics event. */
  countShed(): void {
    metrics().analyticsEventsShed.inc();
  }

  /**
   * The backlog as last read, or undefined when unknown: never read, the last refresh failed, or
   * the reading is older than a refresh under steady traffic takes to replace it (after an idle
   * spell, an old "overloaded" must not drop the first event).
   */
  backlog(now = this.now()): number | undefined {
    if (!this.reading || now - this.reading.at > this.sampleEveryMs + this.sampleDeadlineMs) return undefined;
    return this.reading.backlog;
  }

  /** Reads the backlog from Valkey, or joins the read already in flight. Never rejects. */
  refresh(): Promise<void> {
    this.refreshing ??= this.read().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async read(): Promise<void> {
    let backlog: number | undefined;
    try {
      const answer = await withDeadline(
        this.queue.getJobCounts(...BACKLOG_STATES),
        this.sampleDeadlineMs,
        () => new Error(`no answer within ${this.sampleDeadlineMs} ms`),
      );
      backlog = BACKLOG_STATES.reduce((sum, state) => sum + (answer[state] ?? 0), 0);
    } catch {
      // Valkey is down or slow: unknown, which keeps every event (see the header).
      backlog = undefined;
    }
    this.reading = { backlog, at: this.now() };
  }
}
