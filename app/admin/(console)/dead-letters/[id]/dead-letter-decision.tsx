'use client';
// Replay or discard one dead letter from its detail page.
import { useState, useTransition } from 'react';
import { discardDeadLettersAction, replayDeadLettersAction, type DeadLetterActionResult } from '@/app/_admin/dead-letters/dead-letter-actions';
import { DiscardPanel } from '../decision-panels';

export function DeadLetterDecision({ id }: { id: string }) {
  const [discarding, setDiscarding] = useState(false);
  const [result, setResult] = useState<DeadLetterActionResult>();
  const [busy, startTransition] = useTransition();

  const run = (action: () => Promise<DeadLetterActionResult>) =>
    startTransition(async () => {
      const outcome = await action();
      setResult(outcome);
      if (outcome.ok) setDiscarding(false);
    });

  return (
    <div className="decision">
      <div className="decision-buttons">
        <button type="button" className="button-small" disabled={busy} onClick={() => run(() => replayDeadLettersAction([id]))}>
          Replay
        </button>
        <button type="button" className="button-quiet" disabled={busy} onClick={() => setDiscarding(true)}>
          Discard…
        </button>
      </div>
      {discarding && (
        <DiscardPanel
          what={`dead letter #${id}`}
          busy={busy}
          onCancel={() => setDiscarding(false)}
          onConfirm={(reason) => run(() => discardDeadLettersAction([id], reason))}
        />
      )}
      {result && (
        <p className={result.ok ? 'notice notice-ok' : 'notice notice-error'} role="status" data-testid="action-result">
          {result.ok ? result.message : result.error}
        </p>
      )}
    </div>
  );
}
