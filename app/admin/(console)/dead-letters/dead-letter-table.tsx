'use client';
// The dead-letter list with its decisions: tick rows to replay or discard them, or act on all of
// the selected queue after a confirmation that states how fast the replay is let out. The server
// actions revalidate the page, so the rows that were acted on leave the list by themselves.
import Link from 'next/link';
import { useState, useTransition } from 'react';
import {
  discardDeadLettersAction,
  discardQueueAction,
  replayDeadLettersAction,
  replayQueueAction,
  type DeadLetterActionResult,
} from '@/app/_admin/dead-letters/dead-letter-actions';
import { count, plural, relativeTime, timestamp } from '../format-units';
import { ConfirmPanel, DiscardPanel } from './decision-panels';

export interface DeadLetterRow {
  id: string;
  queue: string;
  jobName: string;
  jobId: string;
  attemptsMade: number;
  lastError: string;
  /** 'failed', or 'cancelled' by an operator. */
  kind: string;
  failedAt: string;
  resolution: string | null;
  resolvedBy: string | null;
}

type Pending = { kind: 'replay-queue' } | { kind: 'discard-queue' } | { kind: 'discard-selected' } | undefined;

export function DeadLetterTable({
  rows,
  queue,
  unresolvedInQueue,
  replayPerSecond,
  now,
}: {
  rows: DeadLetterRow[];
  /** The queue the list is filtered to, if any: "all of a queue" needs one. */
  queue: string | undefined;
  unresolvedInQueue: number;
  replayPerSecond: number;
  now: number;
}) {
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [confirming, setConfirming] = useState<Pending>();
  const [result, setResult] = useState<DeadLetterActionResult>();
  const [busy, startTransition] = useTransition();

  const selectable = rows.filter((row) => row.resolution === null).map((row) => row.id);
  // Rows that left the list (replayed, discarded, paged away) are no longer selected.
  const chosen = selectable.filter((id) => selected.has(id));
  const allChosen = selectable.length > 0 && chosen.length === selectable.length;

  const run = (action: () => Promise<DeadLetterActionResult>) =>
    startTransition(async () => {
      const outcome = await action();
      setResult(outcome);
      if (outcome.ok) {
        setSelected(new Set());
        setConfirming(undefined);
      }
    });

  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };

  return (
    <section aria-label="Dead letters">
      <div className="bulk-bar">
        <div className="bulk-group">
          <span className="muted small" aria-live="polite">
            {chosen.length === 0 ? 'Tick rows to act on them' : `${plural(chosen.length, 'row')} selected`}
          </span>
          <button
            type="button"
            className="button-small"
            disabled={busy || chosen.length === 0}
            onClick={() => run(() => replayDeadLettersAction(chosen))}
          >
            Replay selected
          </button>
          <button
            type="button"
            className="button-quiet"
            disabled={busy || chosen.length === 0}
            onClick={() => setConfirming({ kind: 'discard-selected' })}
          >
            Discard selected…
          </button>
        </div>
        <div className="bulk-group">
          {queue ? (
            <>
              <button
                type="button"
                className="button-small"
                disabled={busy || unresolvedInQueue === 0}
                onClick={() => setConfirming({ kind: 'replay-queue' })}
              >
                Replay all of {queue} ({count(unresolvedInQueue)})…
              </button>
              <button
                type="button"
                className="button-quiet"
                disabled={busy || unresolvedInQueue === 0}
                onClick={() => setConfirming({ kind: 'discard-queue' })}
              >
                Discard all of {queue}…
              </button>
            </>
          ) : (
            <span className="muted small">Pick a queue to replay or discard all of it.</span>
          )}
        </div>
      </div>

      {confirming?.kind === 'replay-queue' && queue && (
        <ConfirmPanel
          title={`Replay all ${plural(unresolvedInQueue, 'dead letter')} of ${queue}?`}
          confirmLabel={`Replay ${count(unresolvedInQueue)}`}
          busy={busy}
          onCancel={() => setConfirming(undefined)}
          onConfirm={() => run(() => replayQueueAction(queue))}
        >
          Each goes back on the queue under its own job id with fresh attempts. The redrive is capped at{' '}
          <strong>{replayPerSecond} jobs per second</strong>, so the last one starts about{' '}
          <strong>{redriveSeconds(unresolvedInQueue, replayPerSecond)}</strong> from now. A job whose effect already
          exists completes without a second one.
        </ConfirmPanel>
      )}
      {(confirming?.kind === 'discard-queue' || confirming?.kind === 'discard-selected') && (
        <DiscardPanel
          what={confirming.kind === 'discard-queue' ? `all ${plural(unresolvedInQueue, 'dead letter')} of ${queue}` : plural(chosen.length, 'selected dead letter')}
          busy={busy}
          onCancel={() => setConfirming(undefined)}
          onConfirm={(reason) =>
            run(() => (confirming.kind === 'discard-queue' && queue ? discardQueueAction(queue, reason) : discardDeadLettersAction(chosen, reason)))
          }
        />
      )}

      {result && (
        <p className={result.ok ? 'notice notice-ok' : 'notice notice-error'} role="status" data-testid="action-result">
          {result.ok ? result.message : result.error}
        </p>
      )}

      {rows.length === 0 ? (
        <p className="empty">No dead letters match. Jobs that exhaust their attempts or fail permanently land here.</p>
      ) : (
        <div className="table-scroll">
          <table className="table dead-letter-table">
            <thead>
              <tr>
                <th scope="col" className="col-check">
                  <input
                    type="checkbox"
                    aria-label="Select every row on this page"
                    checked={allChosen}
                    disabled={selectable.length === 0}
                    onChange={(event) => setSelected(new Set(event.target.checked ? selectable : []))}
                  />
                </th>
                <th scope="col" className="num">#</th>
                <th scope="col">Queue</th>
                <th scope="col">Job</th>
                <th scope="col" className="num">Attempts</th>
                <th scope="col">Last error</th>
                <th scope="col" className="num">Failed</th>
                <th scope="col" />
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id} data-testid={`dead-letter-${row.id}`} data-resolution={row.resolution ?? 'unresolved'}>
                  <td className="col-check">
                    {row.resolution === null ? (
                      <input
                        type="checkbox"
                        aria-label={`Select dead letter ${row.id}`}
                        checked={selected.has(row.id)}
                        onChange={(event) => toggle(row.id, event.target.checked)}
                      />
                    ) : (
                      <span className={`pill pill-${row.resolution}`} title={row.resolvedBy ? `by ${row.resolvedBy}` : undefined}>
                        {row.resolution}
                      </span>
                    )}
                  </td>
                  <td className="num mono">{row.id}</td>
                  <td>
                    <span className="pill">{row.queue}</span>
                  </td>
                  <td className="job-cell">
                    <div>
                      {row.jobName}{' '}
                      {row.kind === 'cancelled' && (
                        <span className="pill pill-cancelled" title="An operator cancelled this job">
                          cancelled
                        </span>
                      )}
                    </div>
                    <div className="mono small muted">{row.jobId}</div>
                  </td>
                  <td className="num">{count(row.attemptsMade)}</td>
                  <td className="error-cell mono small" title={row.lastError}>
                    <div className="clamp-2">{row.lastError}</div>
                  </td>
                  <td className="num nowrap" title={timestamp(row.failedAt)}>
                    {relativeTime(row.failedAt, now)}
                  </td>
                  <td>
                    <Link href={`/admin/dead-letters/${row.id}`}>Details</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** When the last of `n` replays becomes due at `perSecond`, as the replay spaces them. */
function redriveSeconds(n: number, perSecond: number): string {
  const seconds = Math.max(0, n - 1) / perSecond;
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds / 60)} min`;
}
