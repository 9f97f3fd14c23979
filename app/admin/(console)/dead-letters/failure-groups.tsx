// The unresolved dead letters grouped by failure fingerprint (queue + error class + normalised
// message, lib/failure-fingerprint.ts), most first: an outage shows as one line with its count, and
// its link filters the list to it, ready to replay (docs/failure-model.md#alerts).
import Link from 'next/link';
import type { FailureGroup } from '@/app/_admin/dead-letters/dead-letters';
import { count, relativeTime, timestamp } from '../format-units';
import { listHref, type DeadLetterQuery } from './dead-letter-filters';

export function FailureGroups({ groups, query, now }: { groups: FailureGroup[]; query: DeadLetterQuery; now: number }) {
  if (groups.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="failures-heading" data-testid="failure-groups">
      <header className="panel-head">
        <div>
          <h2 id="failures-heading">Unresolved, by failure</h2>
          <p className="muted small">Ids, numbers and quoted values are taken out of each message, so one cause is one line.</p>
        </div>
      </header>
      <div className="table-scroll">
        <table className="table">
          <thead>
            <tr>
              <th scope="col" className="num">Dead letters</th>
              <th scope="col">Queue</th>
              <th scope="col">Error</th>
              <th scope="col" className="num">Last</th>
            </tr>
          </thead>
          <tbody>
            {groups.map((group) => (
              <tr key={group.fingerprint} aria-current={query.fingerprint === group.fingerprint ? 'true' : undefined}>
                <td className="num">{count(group.count)}</td>
                <td>
                  <span className="pill">{group.queue}</span>
                </td>
                <td className="error-cell mono small">
                  <Link href={listHref(query, { fingerprint: group.fingerprint, queue: group.queue })} title={`fingerprint ${group.fingerprint}`}>
                    <span className="muted">{group.errorClass}:</span> {group.message}
                  </Link>
                </td>
                <td className="num nowrap" title={timestamp(group.lastFailedAt)}>
                  {relativeTime(group.lastFailedAt, now)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
