// The health page's first line: the overall verdict in green, amber or red, every reason behind it,
// and how fresh the figures are.
import type { Verdict } from '@/app/_admin/queue-health/queue-health';

const HEADLINE: Record<Verdict, { title: string; summary: string }> = {
  healthy: {
    title: 'Healthy',
    summary: 'Every queue has workers and keeps up, no breaker is open, and nothing waits for a decision.',
  },
  degraded: {
    title: 'Degraded',
    summary: 'Jobs still get done, but something needs a look:',
  },
  failing: {
    title: 'Failing',
    summary: 'Jobs are not getting done:',
  },
};

export function VerdictBanner({
  verdict,
  reasons,
  freshness,
  stale,
}: {
  verdict: Verdict;
  reasons: string[];
  /** "Updated 2 s ago" */
  freshness: string;
  /** Why the figures may be out of date, when the last refresh failed. */
  stale?: string;
}) {
  const { title, summary } = HEADLINE[verdict];
  return (
    <section className={`verdict verdict-${verdict}`} data-testid="verdict" data-verdict={verdict} aria-labelledby="verdict-title">
      <div className="verdict-head">
        <div>
          <h1 id="verdict-title">
            <span className="verdict-mark" aria-hidden="true" />
            {title}
          </h1>
          <p className="verdict-summary">{summary}</p>
        </div>
        <p className="freshness" aria-live="off">
          <span className={stale ? 'live-dot live-dot-stale' : 'live-dot'} aria-hidden="true" />
          {freshness}
        </p>
      </div>
      {reasons.length > 0 && (
        <ul className="verdict-reasons" data-testid="verdict-reasons">
          {reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      )}
      {stale && (
        <p className="stale-warning" role="alert" data-testid="stale-warning">
          {stale}
        </p>
      )}
    </section>
  );
}
