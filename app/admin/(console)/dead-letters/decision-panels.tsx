'use client';
// The two confirmations a dead-letter decision goes through: a plain "are you sure" that states
// what will happen, and the discard form, which will not submit without a reason.
import { useState, type ReactNode } from 'react';

export function ConfirmPanel({
  title,
  confirmLabel,
  busy,
  onConfirm,
  onCancel,
  children,
}: {
  title: string;
  confirmLabel: string;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  children: ReactNode;
}) {
  return (
    <div className="confirm" role="alertdialog" aria-label={title}>
      <p className="confirm-title">{title}</p>
      <p className="small">{children}</p>
      <div className="confirm-actions">
        <button type="button" className="button-small" disabled={busy} onClick={onConfirm}>
          {busy ? 'Working…' : confirmLabel}
        </button>
        <button type="button" className="button-quiet" disabled={busy} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

export function DiscardPanel({
  what,
  busy,
  onConfirm,
  onCancel,
}: {
  what: string;
  busy: boolean;
  onConfirm: (reason: string) => void;
  onCancel: () => void;
}) {
  const [reason, setReason] = useState('');
  return (
    <form
      className="confirm confirm-danger"
      aria-label={`Discard ${what}`}
      onSubmit={(event) => {
        event.preventDefault();
        onConfirm(reason);
      }}
    >
      <p className="confirm-title">Discard {what}?</p>
      <p className="small">Discarded jobs never run again. The reason is kept in the audit log.</p>
      <label className="field discard-reason">
        <span>Reason (required)</span>
        <input value={reason} onChange={(event) => setReason(event.target.value)} required maxLength={500} placeholder="e.g. test account, deleted user" />
      </label>
      <div className="confirm-actions">
        <button type="submit" className="button-small button-danger" disabled={busy || reason.trim() === ''}>
          {busy ? 'Working…' : 'Discard'}
        </button>
        <button type="button" className="button-quiet" disabled={busy} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
