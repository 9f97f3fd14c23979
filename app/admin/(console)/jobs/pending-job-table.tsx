'use client';
// One queue's pending jobs, each with a Cancel button that opens a form asking for the reason. The
// server action revalidates the page, so a cancelled job leaves the list by itself.
import { useState, useTransition } from 'react';
import { cancelJobAction, type CancelJobActionResult } from '@/app/_admin/jobs/job-actions';
import type { PendingJob } from '@/app/_admin/jobs/pending-jobs';
import { relativeTime } from '../format-units';

export function PendingJobTable({ queue, jobs, now }: { queue: string; jobs: PendingJob[]; now: number }) {
  const [cancelling, setCancelling] = useState<string>();
  const [result, setResult] = useState<CancelJobActionResult>();
  const [busy, startTransition] = useTransition();

  const cancel = (id: string, reason: string) =>
    startTransition(async () => {
      const outcome = await cancelJobAction(queue, id, reason);
      setResult(outcome);
      if (outcome.ok) setCancelling(undefined);
    });

  return (
    <>
      {result && (
        <p className={result.ok ? 'notice notice-ok' : 'notice notice-error'} role="status" data-testid={`cancel-result-${queue}`}>
          {result.ok ? result.message : result.error}
        </p>
      )}
      {jobs.length === 0 ? (
        <p className="empty">Nothing active, waiting or delayed.</p>
      ) : (
        <div className="table-scroll">
          <table className="table pending-job-table">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">State</th>
                <th scope="col" className="num">Added</th>
                <th scope="col" />
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <tr key={job.id} data-testid={`pending-job-${job.id}`}>
                  <td>
                    <div>{job.name}</div>
                    <div className="mono small muted">{job.id}</div>
                  </td>
                  <td>
                    <span className={`pill pill-state-${job.state}`}>{job.state}</span>
                  </td>
                  <td className="num nowrap" title={new Date(job.addedAt).toISOString()}>
                    {relativeTime(job.addedAt, now)}
                  </td>
                  <td className="cancel-cell">
                    {cancelling === job.id ? (
                      <CancelForm jobId={job.id} busy={busy} onConfirm={(reason) => cancel(job.id, reason)} onClose={() => setCancelling(undefined)} />
                    ) : (
                      <button type="button" className="button-quiet" disabled={busy} onClick={() => setCancelling(job.id)}>
                        Cancel…
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function CancelForm({
  jobId,
  busy,
  onConfirm,
  onClose,
}: {
  jobId: string;
  busy: boolean;
  onConfirm: (reason: string) => void;
  onClose: () => void;
}) {
  const [reason, setReason] = useState('');
  return (
    <form
      className="cancel-form"
      aria-label={`Cancel ${jobId}`}
      onSubmit={(event) => {
        event.preventDefault();
        onConfirm(reason);
      }}
    >
      <label className="cancel-reason">
        <span>Reason (required)</span>
        <input value={reason} onChange={(event) => setReason(event.target.value)} required maxLength={500} autoFocus placeholder="e.g. stuck on a bad record" />
      </label>
      <button type="submit" className="button-small button-danger" disabled={busy || reason.trim() === ''}>
        {busy ? 'Cancelling…' : 'Cancel job'}
      </button>
      <button type="button" className="button-quiet" disabled={busy} onClick={onClose}>
        Keep it
      </button>
    </form>
  );
}
