// /admin/dead-letters/<id>: one dead letter's whole failure context (payload, options, every
// attempt's error, the last stack trace) and, while it waits for a person, replay and discard.
import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import type { ReactNode } from 'react';
import { z } from 'zod';
import { requireAdminPage } from '@/app/_admin/auth/admin-auth';
import { webRuntime } from '@/app/_web/web-runtime';
import { count, relativeTime, timestamp } from '../../format-units';
import { DeadLetterDecision } from './dead-letter-decision';
import '../dead-letters.css';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Dead letter' };

/** What workers/runtime/dead-letter-recorder.ts writes per failed attempt; rows from elsewhere may differ. */
const attemptErrors = z.array(z.object({ attempt: z.number(), error: z.string(), at: z.string() })).catch([]);

export default async function DeadLetterPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  await requireAdminPage(`/admin/dead-letters/${encodeURIComponent(id)}`);
  if (!/^[1-9][0-9]{0,18}$/.test(id)) notFound();

  const { db } = webRuntime();
  const row = await db.deadLetter.findUnique({ where: { id: BigInt(id) } });
  if (!row) notFound();
  const now = Date.now();
  const attempts = attemptErrors.parse(row.attemptErrors);

  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link href="/admin/dead-letters">Dead letters</Link> <span aria-hidden="true">/</span>{' '}
        <Link href={`/admin/dead-letters?queue=${row.queue}`}>{row.queue}</Link> <span aria-hidden="true">/</span> #{id}
      </nav>

      <header className="page-head detail-head" data-testid={`dead-letter-detail-${id}`} data-resolution={row.resolution ?? 'unresolved'}>
        <div>
          <h1>
            {row.jobName} <span className="muted">#{id}</span>
          </h1>
          <p className="mono small muted">{row.jobId}</p>
        </div>
        {row.resolution === null ? (
          <DeadLetterDecision id={id} />
        ) : (
          <p className={`pill pill-${row.resolution}`}>
            {row.resolution} by {row.resolvedBy ?? 'unknown'}
            {row.resolvedAt && `, ${relativeTime(row.resolvedAt, now)}`}
          </p>
        )}
      </header>

      <section className="panel">
        <dl className="facts-grid">
          <Fact label="Queue">{row.queue}</Fact>
          <Fact label="Attempts made">{count(row.attemptsMade)}</Fact>
          <Fact label="First failure" title={timestamp(row.firstFailedAt)}>
            {relativeTime(row.firstFailedAt, now)}
          </Fact>
          <Fact label="Dead-lettered" title={timestamp(row.failedAt)}>
            {relativeTime(row.failedAt, now)}
          </Fact>
          <Fact label="Alert sent">{row.alertedAt ? relativeTime(row.alertedAt, now) : 'not yet'}</Fact>
          {row.resolutionNote && <Fact label={row.resolution === 'discarded' ? 'Reason' : 'Note'}>{row.resolutionNote}</Fact>}
        </dl>
        <h2 className="section-title">Last error</h2>
        <p className="error-text mono" data-testid="last-error">
          {row.lastError}
        </p>
      </section>

      <div className="detail-columns">
        <section className="panel">
          <h2 className="section-title">Payload</h2>
          <pre className="code" data-testid="payload">
            {JSON.stringify(row.payload, null, 2)}
          </pre>
          <h2 className="section-title">Options</h2>
          <pre className="code">{JSON.stringify(row.options, null, 2)}</pre>
        </section>

        <section className="panel">
          <h2 className="section-title">Attempts ({count(attempts.length)})</h2>
          {attempts.length === 0 ? (
            <p className="empty">No attempt was recorded.</p>
          ) : (
            <div className="table-scroll attempts-scroll">
              <table className="table" data-testid="attempts">
                <thead>
                  <tr>
                    <th scope="col" className="num">#</th>
                    <th scope="col">When</th>
                    <th scope="col">Error</th>
                  </tr>
                </thead>
                <tbody>
                  {attempts.map((attempt, index) => (
                    <tr key={index}>
                      <td className="num">{attempt.attempt}</td>
                      <td className="nowrap" title={timestamp(attempt.at)}>
                        {relativeTime(attempt.at, now)}
                      </td>
                      <td className="mono small error-cell-full">{attempt.error}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>

      <section className="panel">
        <h2 className="section-title">Stack trace</h2>
        {row.stackTrace ? (
          <pre className="code" data-testid="stack-trace">
            {row.stackTrace}
          </pre>
        ) : (
          <p className="empty">No stack trace was recorded.</p>
        )}
      </section>
    </>
  );
}

function Fact({ label, title, children }: { label: string; title?: string; children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd title={title}>{children}</dd>
    </div>
  );
}
