// Who replayed or discarded which dead letters, when and why: the newest rows of
// dead_letter_actions, written by app/_admin/dead-letters/dead-letters.ts with every decision.
import Link from 'next/link';
import type { deadLetterActions } from '@/app/_admin/dead-letters/dead-letters';
import { count, relativeTime, timestamp } from '../format-units';

type AuditEntry = Awaited<ReturnType<typeof deadLetterActions>>[number];

/** Ids written out in a row before the rest are summed up. */
const IDS_SHOWN = 6;

export function AuditLog({ entries, now }: { entries: AuditEntry[]; now: number }) {
  return (
    <section className="panel" aria-labelledby="audit-heading" data-testid="audit-log">
      <header className="panel-head">
        <div>
          <h2 id="audit-heading">Audit log</h2>
          <p className="muted small">Every replay and discard, newest first.</p>
        </div>
      </header>
      {entries.length === 0 ? (
        <p className="empty">No replays or discards yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col" className="num">Count</th>
                <th scope="col">Of</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id.toString()} data-testid={`audit-${entry.id.toString()}`}>
                  <td className="nowrap" title={timestamp(entry.at)}>
                    {relativeTime(entry.at, now)}
                  </td>
                  <td>{entry.actor}</td>
                  <td>
                    <span className={`pill pill-${entry.action === 'replay' ? 'replayed' : 'discarded'}`}>{entry.action}</span>
                  </td>
                  <td className="num">{count(entry.count)}</td>
                  <td>
                    <Scope queue={entry.queue} ids={idsOf(entry.deadLetterIds)} />
                  </td>
                  <td className="muted">{entry.note ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Scope({ queue, ids }: { queue: string | null; ids: string[] }) {
  const shown = ids.slice(0, IDS_SHOWN);
  return (
    <span className="scope">
      {queue && <span className="pill">all of {queue}</span>}{' '}
      {shown.map((id, i) => (
        <span key={id}>
          {i > 0 && ', '}
          <Link className="mono" href={`/admin/dead-letters/${id}`}>
            #{id}
          </Link>
        </span>
      ))}
      {ids.length > IDS_SHOWN && <span className="muted"> and {count(ids.length - IDS_SHOWN)} more</span>}
      {ids.length === 0 && <span className="muted">none left to act on</span>}
    </span>
  );
}

/** The JSON array of id strings the audit row keeps; anything else reads as none. */
function idsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
}
