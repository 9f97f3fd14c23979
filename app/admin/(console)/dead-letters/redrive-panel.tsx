'use client';
// Replay everything the list's filters match: the count first, "Replay N matching" after a
// confirmation, then the redrive's progress with Pause, Resume and Cancel. The workers run the
// batches; this panel only reads the redrive's row every two seconds while it is running or paused.
import { useRouter } from 'next/navigation';
import { useEffect, useState, useTransition } from 'react';
import type { Redrive } from '@/app/_admin/dead-letters/dead-letter-redrives';
import {
  changeRedriveAction,
  redriveProgressAction,
  startRedriveAction,
  type RedriveActionResult,
} from '@/app/_admin/dead-letters/redrive-actions';
import type { DeadLetterMatch } from '@/lib/dead-letter-filter';
import { count, plural } from '../format-units';
import { ConfirmPanel } from './decision-panels';

const POLL_MS = 2_000;

export function RedrivePanel({
  match,
  matching,
  current,
  replayPerSecond,
}: {
  /** The list's filters as a redrive's; undefined when they contradict each other. */
  match: DeadLetterMatch | undefined;
  matching: number;
  /** The running or paused redrive, else the latest. */
  current: Redrive | undefined;
  replayPerSecond: number;
}) {
  const router = useRouter();
  const [redrive, setRedrive] = useState(current);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string>();
  const [busy, startTransition] = useTransition();
  const live = redrive?.status === 'running' || redrive?.status === 'paused';

  useEffect(() => setRedrive(current), [current]);

  useEffect(() => {
    if (!redrive || !live) return;
    const timer = setTimeout(async () => {
      const answer = await redriveProgressAction(redrive.id);
      if (!answer.ok) return;
      setRedrive(answer.redrive);
      // The letters it replayed leave the list: show the list as it is now.
      if (answer.redrive.replayed !== redrive.replayed || answer.redrive.status !== redrive.status) router.refresh();
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [redrive, live, router]);

  const run = (action: () => Promise<RedriveActionResult>) =>
    startTransition(async () => {
      const answer = await action();
      if (answer.redrive) setRedrive(answer.redrive);
      setError(answer.ok ? undefined : answer.error);
      if (answer.ok) setConfirming(false);
    });

  return (
    <section className="panel redrive" aria-labelledby="redrive-heading" data-testid="redrive-panel">
      <header className="panel-head">
        <div>
          <h2 id="redrive-heading">Replay everything that matches</h2>
          <p className="muted small">
            {match
              ? `${plural(matching, `unresolved ${match.kind} dead letter`)} ${matching === 1 ? 'matches' : 'match'} the filters above.`
              : 'The filters above contradict each other: nothing to replay.'}
          </p>
        </div>
        <button
          type="button"
          className="button-small"
          disabled={busy || live || !match || matching === 0}
          onClick={() => setConfirming(true)}
          data-testid="redrive-start"
        >
          Replay {count(matching)} matching…
        </button>
      </header>

      {confirming && match && (
        <ConfirmPanel
          title={`Replay ${plural(matching, 'dead letter')}?`}
          confirmLabel={`Replay ${count(matching)}`}
          busy={busy}
          onCancel={() => setConfirming(false)}
          onConfirm={() => run(() => startRedriveAction(match))}
        >
          The workers replay them in batches at <strong>{replayPerSecond} jobs per second</strong>, about{' '}
          <strong>{minutes(matching, replayPerSecond)}</strong> in all. You can pause or cancel it here; letters that fail
          from now on are not part of it.
        </ConfirmPanel>
      )}

      {error && (
        <p className="notice notice-error" role="status">
          {error}
        </p>
      )}

      {redrive && <Progress redrive={redrive} busy={busy} onChange={(to) => run(() => changeRedriveAction(redrive.id, to))} />}
    </section>
  );
}

function Progress({ redrive, busy, onChange }: { redrive: Redrive; busy: boolean; onChange: (to: 'pause' | 'resume' | 'cancel') => void }) {
  const share = redrive.total === 0 ? 1 : Math.min(1, redrive.replayed / redrive.total);
  return (
    <div className="redrive-progress" data-testid={`redrive-${redrive.id}`} data-status={redrive.status}>
      <p className="small">
        Redrive #{redrive.id} by {redrive.startedBy}: <span className={`pill pill-redrive-${redrive.status}`}>{redrive.status}</span>{' '}
        <strong>
          {count(redrive.replayed)} of {count(redrive.total)}
        </strong>{' '}
        replayed
        {redrive.status === 'done' && redrive.replayed < redrive.total && ' (the rest were replayed or discarded meanwhile)'}
        {redrive.changedBy && redrive.status !== 'running' && redrive.status !== 'done' && `, ${redrive.status} by ${redrive.changedBy}`}
      </p>
      <progress max={1} value={share} aria-label={`Redrive #${redrive.id}: ${count(redrive.replayed)} of ${count(redrive.total)}`} />
      {(redrive.status === 'running' || redrive.status === 'paused') && (
        <div className="confirm-actions">
          {redrive.status === 'running' ? (
            <button type="button" className="button-small" disabled={busy} onClick={() => onChange('pause')}>
              Pause
            </button>
          ) : (
            <button type="button" className="button-small" disabled={busy} onClick={() => onChange('resume')}>
              Resume
            </button>
          )}
          <button type="button" className="button-quiet" disabled={busy} onClick={() => onChange('cancel')}>
            Cancel the rest
          </button>
        </div>
      )}
    </div>
  );
}

function minutes(n: number, perSecond: number): string {
  const seconds = n / perSecond;
  return seconds < 90 ? `${Math.max(1, Math.round(seconds))} s` : `${Math.round(seconds / 60)} min`;
}
