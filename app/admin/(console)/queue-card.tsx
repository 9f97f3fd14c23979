'use client';
// One queue on the health page: its verdict and breaker, counts by state, the last hour's
// throughput, latencies, the tenants waiting their turn, and a pause switch. Everything comes from the polled QueueHealth.
import Link from 'next/link';
import { useState } from 'react';
import type { QueueHealth } from '@/app/_admin/queue-health/queue-health';
import { count, duration, perMinute, percent, plural, relativeTime } from './format-units';
import { ThroughputChart } from './throughput-chart';

/** Throughput is shown as the mean of the last few minutes: the current minute is still filling. */
const RATE_MINUTES = 5;

const COUNT_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

export function QueueCard({
  queue,
  now,
  onPausedChange,
}: {
  queue: QueueHealth;
  now: number;
  /** Pauses or resumes the queue; resolves to an error message, or undefined when it worked. */
  onPausedChange: (queue: string, paused: boolean) => Promise<string | undefined>;
}) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string>();
  const { breaker, counts, throughput } = queue;

  const togglePaused = async () => {
    setPending(true);
    setError(await onPausedChange(queue.name, !queue.paused));
    setPending(false);
  };

  const completedRate = mean(throughput.completedPerMinute.slice(-RATE_MINUTES));
  const failedRate = mean(throughput.failedPerMinute.slice(-RATE_MINUTES));

  return (
    <article
      className={`queue-card queue-${queue.verdict}`}
      data-testid={`queue-${queue.name}`}
      data-verdict={queue.verdict}
      data-breaker={breaker.state}
      data-paused={queue.paused}
      aria-labelledby={`queue-${queue.name}-title`}
    >
      <header className="queue-head">
        <div className="queue-title">
          <span className={`dot dot-${queue.verdict}`} aria-hidden="true" />
          <h2 id={`queue-${queue.name}-title`}>{queue.name}</h2>
          <span className="muted small">calls {breaker.provider}</span>
        </div>
        <div className="queue-badges">
          {queue.paused && <span className="pill pill-warn">paused</span>}
          <span className={`pill pill-breaker-${breaker.state}`}>
            breaker {breaker.state}
          </span>
          <button type="button" className="button-quiet" onClick={togglePaused} disabled={pending}>
            {queue.paused ? 'Resume' : 'Pause'}
          </button>
        </div>
      </header>
      {error && (
        <p className="inline-error" role="alert">
          {error}
        </p>
      )}

      <dl className="counts">
        {COUNT_STATES.map((state) => (
          <div key={state} className={state === 'failed' && counts.failed > 0 ? 'count count-bad' : 'count'}>
            <dt>{state}</dt>
            <dd className="num">{count(counts[state])}</dd>
          </div>
        ))}
        <div className={`count count-dlq${queue.deadLetters.unresolved > 0 ? ' count-alert' : ''}`}>
          <dt title="Dead letters waiting for a decision">DLQ</dt>
          <dd className="num">
            <Link href={`/admin/dead-letters?queue=${queue.name}`}>{count(queue.deadLetters.unresolved)}</Link>
          </dd>
        </div>
      </dl>

      <ThroughputChart queue={queue.name} completed={throughput.completedPerMinute} failed={throughput.failedPerMinute} />

      <dl className="metrics">
        <Metric label="Completed" hint={`${RATE_MINUTES}-min mean`} value={perMinute(completedRate)} />
        <Metric label="Workers online" value={count(queue.workers)} tone={queue.workers === 0 ? 'bad' : undefined} />
        <Metric label="Failed" hint={`${RATE_MINUTES}-min mean`} value={perMinute(failedRate)} tone={failedRate > 0 ? 'bad' : undefined} />
        <Metric
          label="Error rate"
          hint="15 min"
          value={queue.errorRate === null ? '—' : percent(queue.errorRate)}
          tone={queue.errorRate !== null && queue.errorRate > 0 ? 'bad' : undefined}
        />
        <Metric label="Wait" hint="p50 / p95" value={latency(queue.waitMs)} />
        <Metric label="Processing" hint="p50 / p95" value={latency(queue.processingMs)} />
        <Metric
          label="Oldest waiting"
          value={queue.oldestWaitingAgeMs === null ? '—' : duration(queue.oldestWaitingAgeMs)}
          tone={queue.oldestWaitingAgeMs !== null && queue.oldestWaitingAgeMs > 60_000 ? 'bad' : undefined}
        />
        <Metric
          label="Oldest dead letter"
          value={queue.deadLetters.oldestFailedAt === null ? '—' : relativeTime(queue.deadLetters.oldestFailedAt, now)}
        />
      </dl>

      <p className="breaker-line small">
        <span className="muted">Breaker ({breaker.provider}):</span> {breakerDetail(queue)}
      </p>

      {queue.tenants.length > 0 && (
        <table className="tenant-table small" aria-label={`${queue.name}: tenants waiting their turn`}>
          <caption className="muted">Waiting their turn (per-tenant limits)</caption>
          <thead>
            <tr>
              <th scope="col">tenant</th>
              <th scope="col" className="num">held back</th>
              <th scope="col" className="num">running</th>
            </tr>
          </thead>
          <tbody>
            {queue.tenants.map((tenant) => (
              <tr key={tenant.tenant}>
                <td className="tenant-name">{tenant.tenant}</td>
                <td className="num">{count(tenant.held)}</td>
                <td className="num">{count(tenant.running)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {queue.reasons.length > 0 && (
        <ul className="queue-reasons">
          {queue.reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      )}
    </article>
  );
}

function Metric({ label, hint, value, tone }: { label: string; hint?: string; value: string; tone?: 'bad' }) {
  return (
    <div className={tone === 'bad' ? 'metric metric-bad' : 'metric'}>
      <dt>
        {label}
        {hint && <span className="metric-hint"> {hint}</span>}
      </dt>
      <dd className="num">{value}</dd>
    </div>
  );
}

function latency(summary: QueueHealth['waitMs']): string {
  return summary === null ? '—' : `${duration(summary.p50)} / ${duration(summary.p95)}`;
}

function breakerDetail({ breaker }: QueueHealth): string {
  const meaning = {
    closed: 'calls go through',
    open: 'jobs wait without spending attempts',
    'half-open': 'one probe decides',
  }[breaker.state];
  return `${breaker.state}, ${meaning} · ${breaker.failuresInWindow} of ${plural(breaker.callsInWindow, 'call')} failed in its window · opened ${breaker.opens}×`;
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}
