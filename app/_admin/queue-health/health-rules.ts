// The health report's verdict: each rule reads the facts gathered for a queue or for the whole
// report and names what it finds. Each threshold carries its reason.
//
// Verdicts, worst first:
//   failing   a queue has jobs ready to run and no worker online
//             a queue's error rate over the last 15 minutes is ≥ 50% (at least 10 jobs finished)
//             Valkey is unreachable
//             the outbox's oldest pending row is older than 5 minutes
//   degraded  a queue's circuit breaker is open or half-open
//             a queue has unresolved dead letters
//             a queue's error rate over the last 15 minutes is ≥ 5% (at least 10 jobs finished)
//             a queue's oldest waiting job has waited more than 60 s
//             a queue is paused
//             the outbox has a pending row older than 30 s
//   healthy   none of these
import 'server-only';
import type { QueueHealth, QueueHealthReport, Verdict } from '@/app/_admin/queue-health/health-report';

export const HEALTH_LIMITS = {
  // Half of what finishes failing for good means the queue mostly does not do its job; the same
  // ratio opens a circuit breaker.
  failingErrorRate: 0.5,
  // One job in twenty ending as a dead letter is far above what a healthy provider produces.
  degradedErrorRate: 0.05,
  // The window the error rate covers: long enough to hold a few hundred signups, short enough
  // that an incident that ended stops counting within a quarter of an hour.
  errorRateWindowMinutes: 15,
  // A single permanent failure is not an outage (the breaker's minimumRequests, for the same reason).
  errorRateMinimumFinished: 10,
  // Every queue finishes a ready job within seconds; a minute of waiting means workers are too few,
  // stopped, or held back by a breaker or a rate limit.
  degradedOldestWaitingMs: 60_000,
  // The relay claims rows older than 2 s every second: 30 s means it is not keeping up or Valkey is
  // down, and 5 minutes means signups' jobs are stuck.
  degradedOutboxAgeMs: 30_000,
  failingOutboxAgeMs: 5 * 60_000,
} as const;

export type Finding = { verdict: Exclude<Verdict, 'healthy'>; reason: string };
export type QueueFacts = Omit<QueueHealth, 'verdict' | 'reasons'> & { finishedInWindow: number };
interface Rule<Facts> {
  verdict: Finding['verdict'];
  /** What the rule reads: with Valkey unreachable only the database's rules can judge. */
  source: 'valkey' | 'database';
  check(facts: Facts): string | undefined;
}

export const QUEUE_RULES: readonly Rule<QueueFacts>[] = [
  {
    verdict: 'failing',
    source: 'valkey',
    check: (q) => {
      const ready = q.counts.waiting + q.counts.prioritized;
      return ready > 0 && q.workers === 0 ? `${q.name}: ${plural(ready, 'job')} waiting and no worker online` : undefined;
    },
  },
  {
    verdict: 'failing',
    source: 'valkey',
    check: (q) => errorRateWithin(q, HEALTH_LIMITS.failingErrorRate, Infinity),
  },
  {
    verdict: 'degraded',
    source: 'valkey',
    check: (q) => errorRateWithin(q, HEALTH_LIMITS.degradedErrorRate, HEALTH_LIMITS.failingErrorRate),
  },
  {
    verdict: 'degraded',
    source: 'valkey',
    check: (q) => (q.breaker.state === 'closed' ? undefined : `${q.name}: circuit breaker ${q.breaker.state}`),
  },
  {
    verdict: 'degraded',
    source: 'database',
    check: (q) =>
      q.deadLetters.unresolved > 0
        ? `${q.name}: ${plural(q.deadLetters.unresolved, 'dead letter')} waiting for a decision`
        : undefined,
  },
  {
    verdict: 'degraded',
    source: 'valkey',
    check: (q) =>
      q.oldestWaitingAgeMs !== null && q.oldestWaitingAgeMs > HEALTH_LIMITS.degradedOldestWaitingMs
        ? `${q.name}: oldest waiting job has waited ${duration(q.oldestWaitingAgeMs)}`
        : undefined,
  },
  { verdict: 'degraded', source: 'valkey', check: (q) => (q.paused ? `${q.name}: paused` : undefined) },
];

export type ReportFacts = Pick<QueueHealthReport, 'valkeyReachable' | 'outbox'>;

export const REPORT_RULES: readonly Rule<ReportFacts>[] = [
  {
    verdict: 'failing',
    source: 'valkey',
    check: (r) => (r.valkeyReachable ? undefined : 'Valkey unreachable: no job can run, new jobs wait in the outbox'),
  },
  {
    verdict: 'failing',
    source: 'database',
    check: (r) => outboxAgeWithin(r, HEALTH_LIMITS.failingOutboxAgeMs, Infinity),
  },
  {
    verdict: 'degraded',
    source: 'database',
    check: (r) => outboxAgeWithin(r, HEALTH_LIMITS.degradedOutboxAgeMs, HEALTH_LIMITS.failingOutboxAgeMs),
  },
];

export function judge<Facts>(rules: readonly Rule<Facts>[], facts: Facts): Finding[] {
  return rules.flatMap((rule) => {
    const reason = rule.check(facts);
    return reason === undefined ? [] : [{ verdict: rule.verdict, reason }];
  });
}

/** The worst verdict found, with failing reasons listed before degraded ones. */
export function verdictOf(findings: Finding[]): { verdict: Verdict; reasons: string[] } {
  const failing = findings.filter((finding) => finding.verdict === 'failing');
  const degraded = findings.filter((finding) => finding.verdict === 'degraded');
  const verdict: Verdict = failing.length > 0 ? 'failing' : degraded.length > 0 ? 'degraded' : 'healthy';
  return { verdict, reasons: [...failing, ...degraded].map((finding) => finding.reason) };
}

/** The error-rate reason when the rate is in [from, below), judged only on enough finished jobs. */
function errorRateWithin(q: QueueFacts, from: number, below: number): string | undefined {
  const rate = q.errorRate;
  if (rate === null || q.finishedInWindow < HEALTH_LIMITS.errorRateMinimumFinished) return undefined;
  if (rate < from || rate >= below) return undefined;
  return `${q.name}: ${Math.round(rate * 100)}% of jobs failed in the last ${HEALTH_LIMITS.errorRateWindowMinutes} minutes`;
}

/** The outbox reason when its oldest pending row's age is in (from, upTo]. */
function outboxAgeWithin(r: ReportFacts, from: number, upTo: number): string | undefined {
  const { pending, oldestAgeMs } = r.outbox;
  if (oldestAgeMs === null || oldestAgeMs <= from || oldestAgeMs > upTo) return undefined;
  return `outbox: ${plural(pending, 'job')} not dispatched, the oldest for ${duration(oldestAgeMs)}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function duration(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1_000)} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}
