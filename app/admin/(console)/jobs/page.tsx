// /admin/jobs: each queue's newest active, waiting and delayed jobs, with a Cancel button per row that
// asks for a reason (cancel-job-row.tsx, through app/_admin/jobs/job-actions.ts). Read on the server
// through app/_admin/jobs/pending-jobs.ts; a cancelled job becomes a dead letter, re-run from there.
import type { Metadata } from 'next';
import Link from 'next/link';
import { requireAdminPage } from '@/app/_admin/auth/admin-auth';
import { PENDING_PAGE, pendingJobs } from '@/app/_admin/jobs/pending-jobs';
import { webRuntime } from '@/app/_web/web-runtime';
import { count } from '../format-units';
import { PendingJobTable } from './pending-job-table';
import './jobs.css';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Pending jobs' };

export default async function PendingJobsPage() {
  await requireAdminPage('/admin/jobs');
  const now = Date.now();
  const queues = await pendingJobs(webRuntime().queues);

  return (
    <>
      <header className="page-head">
        <h1>Pending jobs</h1>
        <p className="muted">
          The newest {PENDING_PAGE} active, waiting and delayed jobs of each queue. Cancelling one needs a reason: a
          waiting or delayed job is taken off its queue, an active one has its attempt aborted. Either way it does not
          retry and becomes a <Link href="/admin/dead-letters">dead letter</Link> marked cancelled, from which it can be
          re-run. Every cancellation is in the audit log there.
        </p>
      </header>

      {queues === undefined ? (
        <p className="notice notice-error" role="alert">
          Valkey is unreachable, so the queues cannot be read. Nothing can be cancelled until it is back.
        </p>
      ) : (
        queues.map(({ queue, counts, jobs }) => (
          <section key={queue} className="panel pending-queue" aria-labelledby={`pending-${queue}`}>
            <div className="panel-head">
              <h2 id={`pending-${queue}`}>{queue}</h2>
              <span className="muted small">
                {count(counts.active)} active · {count(counts.waiting)} waiting · {count(counts.delayed)} delayed
              </span>
            </div>
            <PendingJobTable queue={queue} jobs={jobs} now={now} />
          </section>
        ))
      )}
    </>
  );
}
