// /admin/dead-letters: the dead-letter queue, filtered by query parameters, grouped by failure
// (failure-groups.tsx), with replay and discard (dead-letter-table.tsx, through
// app/_admin/dead-letters/dead-letter-actions.ts), a redrive of everything the filters match
// (redrive-panel.tsx) and the audit log. Read on the server from PostgreSQL through app/_admin/dead-letters/.
import type { Metadata } from 'next';
import Link from 'next/link';
import { requireAdminPage } from '@/app/_admin/auth/admin-auth';
import { webRuntime } from '@/app/_web/web-runtime';
import { deadLetterActions, failureGroups, listDeadLetters } from '@/app/_admin/dead-letters/dead-letters';
import { previewRedrive, recentRedrives } from '@/app/_admin/dead-letters/dead-letter-redrives';
import { QUEUE_NAMES } from '@/lib/queues';
import { count } from '../format-units';
import { AuditLog } from './audit-log';
import { listHref, PAGE_SIZE, parseDeadLetterQuery, TIME_WINDOWS, toFilter, toMatch, type DeadLetterQuery } from './dead-letter-filters';
import { DeadLetterTable, type DeadLetterRow } from './dead-letter-table';
import { FailureGroups } from './failure-groups';
import { RedrivePanel } from './redrive-panel';
import './dead-letters.css';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Dead letters' };

/** Audit rows shown under the list; the table keeps them all. */
const AUDIT_ROWS = 25;

export default async function DeadLettersPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const params = await searchParams;
  const query = parseDeadLetterQuery(params);
  await requireAdminPage(listHref(query, { beforeId: query.beforeId }));

  const { db, pool, replayPerSecond } = webRuntime();
  const now = Date.now();
  const match = toMatch(query, now);
  const [rows, unresolvedByQueue, audit, groups, preview, [redrive]] = await Promise.all([
    listDeadLetters(db, toFilter(query, now)),
    db.deadLetter.groupBy({ by: ['queue'], where: { resolution: null }, _count: { _all: true } }),
    deadLetterActions(db, AUDIT_ROWS),
    failureGroups(db),
    match ? previewRedrive(pool, match) : undefined,
    recentRedrives(pool, 1),
  ]);
  const unresolved = new Map(unresolvedByQueue.map((group) => [group.queue, group._count._all]));
  const unresolvedTotal = [...unresolved.values()].reduce((sum, value) => sum + value, 0);
  const nextBeforeId = rows.length === PAGE_SIZE ? rows.at(-1)?.id.toString() : undefined;

  return (
    <>
      <header className="page-head">
        <h1>Dead letters</h1>
        <p className="muted">
          Jobs that used up their attempts or failed permanently, with their whole failure context. Replay puts them back
          with fresh attempts, at most {replayPerSecond} per second; discard needs a reason. Both are logged below.
        </p>
      </header>

      <nav className="tabs" aria-label="Queues">
        <Link href={listHref(query, { queue: undefined })} aria-current={query.queue === undefined ? 'page' : undefined}>
          All <span className="tab-count">{count(unresolvedTotal)}</span>
        </Link>
        {QUEUE_NAMES.map((name) => (
          <Link key={name} href={listHref(query, { queue: name })} aria-current={query.queue === name ? 'page' : undefined}>
            {name} <span className={unresolved.get(name) ? 'tab-count tab-count-alert' : 'tab-count'}>{count(unresolved.get(name) ?? 0)}</span>
          </Link>
        ))}
      </nav>

      <Filters query={query} />

      <FailureGroups groups={groups} query={query} now={now} />

      <RedrivePanel match={match} matching={preview?.matching ?? 0} current={redrive} replayPerSecond={replayPerSecond} />

      <DeadLetterTable
        // Another filter or page is another list: its selection and last result start afresh.
        key={listHref(query, { beforeId: query.beforeId })}
        rows={rows.map(toRow)}
        queue={query.queue}
        unresolvedInQueue={query.queue ? (unresolved.get(query.queue) ?? 0) : 0}
        replayPerSecond={replayPerSecond}
        now={now}
      />

      <nav className="pager" aria-label="Pages">
        {query.beforeId && <Link href={listHref(query, {})}>← Newest</Link>}
        {nextBeforeId && <Link href={listHref(query, { beforeId: nextBeforeId })}>Older →</Link>}
      </nav>

      <AuditLog entries={audit} now={now} />
    </>
  );
}

/** A plain GET form: filtering works without JavaScript and leaves a shareable address. */
function Filters({ query }: { query: DeadLetterQuery }) {
  const filtered = Boolean(query.error || query.within || query.after || query.before || query.resolved || query.kind || query.fingerprint);
  return (
    <form className="filters" method="get" action="/admin/dead-letters" role="search">
      {query.queue && <input type="hidden" name="queue" value={query.queue} />}
      {query.after && <input type="hidden" name="after" value={query.after} />}
      {query.before && <input type="hidden" name="before" value={query.before} />}
      {query.fingerprint && <input type="hidden" name="fingerprint" value={query.fingerprint} />}
      <label className="filter">
        <span>Error contains</span>
        <input type="search" name="error" defaultValue={query.error} placeholder="e.g. 422, timeout" maxLength={200} />
      </label>
      <label className="filter">
        <span>Failed</span>
        <select name="within" defaultValue={query.within ?? ''}>
          <option value="">any time</option>
          {Object.entries(TIME_WINDOWS).map(([value, window]) => (
            <option key={value} value={value}>
              {window.label}
            </option>
          ))}
        </select>
      </label>
      <label className="filter">
        <span>Kind</span>
        <select name="kind" defaultValue={query.kind ?? ''}>
          <option value="">failed and cancelled</option>
          <option value="failed">failed</option>
          <option value="cancelled">cancelled by an operator</option>
        </select>
      </label>
      <label className="filter filter-check">
        <input type="checkbox" name="resolved" value="include" defaultChecked={query.resolved === 'include'} />
        <span>Include replayed and discarded</span>
      </label>
      <button type="submit" className="button-small">
        Filter
      </button>
      {filtered && (
        <Link className="filter-clear" href={query.queue ? `/admin/dead-letters?queue=${query.queue}` : '/admin/dead-letters'}>
          Clear filters
        </Link>
      )}
      {query.fingerprint && <span className="muted small mono">Failure {query.fingerprint}</span>}
      {(query.after || query.before) && (
        <span className="muted small">
          Failed {query.after && `after ${query.after}`} {query.before && `before ${query.before}`}
        </span>
      )}
    </form>
  );
}

function toRow(row: Awaited<ReturnType<typeof listDeadLetters>>[number]): DeadLetterRow {
  return {
    id: row.id.toString(),
    queue: row.queue,
    jobName: row.jobName,
    jobId: row.jobId,
    attemptsMade: row.attemptsMade,
    lastError: row.lastError,
    kind: row.kind,
    failedAt: row.failedAt.toISOString(),
    resolution: row.resolution,
    resolvedBy: row.resolvedBy,
  };
}
