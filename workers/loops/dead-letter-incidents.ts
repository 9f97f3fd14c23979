// The alert loop's memory per failure fingerprint (dead_letter_alert_groups): whether new dead
// letters open an incident (announce them), continue one that is due a follow-up (announce the
// count), or continue one announced recently (count them, say nothing). Runs inside the alert
// pass's transaction, so a pass that rolls back leaves every incident as it was.
// docs/failure-model.md#alerts
import type { FailureFingerprint } from '@/lib/failure-fingerprint';
import { execute, query, sql, type PoolClient } from '@/lib/sql';

/** An incident ends after this long without a dead letter; the next one is announced afresh. */
export const QUIET_MS = 30 * 60_000;
/** While an incident lasts, at most one follow-up with its count per this long. */
export const FOLLOW_UP_MS = 60 * 60_000;

export interface IncidentTiming {
  quietMs: number;
  followUpMs: number;
}

export type Announcement =
  | { status: 'new' | 'ongoing'; openedAt: Date; sinceLastAlert: number; sinceOpened: number }
  | { status: 'silent' };

interface GroupRow {
  fingerprint: string;
  opened_at: Date;
  last_seen_at: Date;
  notified_at: Date;
  count: number;
  unannounced: number;
  now: Date;
}

/**
 * Records `counts` new dead letters per fingerprint and decides, per fingerprint, what the alert
 * says about them. Locks the groups in fingerprint order, so two passes never deadlock.
 */
export async function recordIncidents(
  client: PoolClient,
  groups: ReadonlyArray<{ failure: FailureFingerprint; count: number }>,
  { quietMs, followUpMs }: IncidentTiming,
): Promise<Map<string, Announcement>> {
  const sorted = [...groups].sort((a, b) => a.failure.fingerprint.localeCompare(b.failure.fingerprint));
  const fingerprints = sorted.map((group) => group.failure.fingerprint);
  const opened = await query<{ fingerprint: string; opened_at: Date }>(client, sql`
    INSERT INTO dead_letter_alert_groups (fingerprint, queue, error_class, message, opened_at, last_seen_at, notified_at, count, unannounced)
    SELECT fingerprint, queue, error_class, message, now(), now(), now(), count, 0
      FROM unnest(${fingerprints}::text[], ${sorted.map((group) => group.failure.queue)}::text[],
                  ${sorted.map((group) => group.failure.errorClass)}::text[], ${sorted.map((group) => group.failure.message)}::text[],
                  ${sorted.map((group) => group.count)}::int[]) AS given(fingerprint, queue, error_class, message, count)
    ON CONFLICT (fingerprint) DO NOTHING
    RETURNING fingerprint, opened_at`);
  const decisions = new Map<string, Announcement>();
  for (const row of opened) {
    const count = sorted.find((group) => group.failure.fingerprint === row.fingerprint)?.count ?? 0;
    decisions.set(row.fingerprint, { status: 'new', openedAt: row.opened_at, sinceLastAlert: count, sinceOpened: count });
  }

  const known = fingerprints.filter((fingerprint) => !decisions.has(fingerprint));
  if (known.length === 0) return decisions;
  const rows = await query<GroupRow>(client, sql`
    SELECT fingerprint, opened_at, last_seen_at, notified_at, count, unannounced, now() AS now
      FROM dead_letter_alert_groups
     WHERE fingerprint = ANY(${known}::text[])
     ORDER BY fingerprint
       FOR UPDATE`);
  for (const row of rows) {
    const count = sorted.find((group) => group.failure.fingerprint === row.fingerprint)?.count ?? 0;
    const decision = decide(row, count, { quietMs, followUpMs });
    decisions.set(row.fingerprint, decision);
    const announced = decision.status !== 'silent';
    await execute(client, sql`
      UPDATE dead_letter_alert_groups
         SET opened_at = ${decision.status === 'new' ? row.now : row.opened_at},
             last_seen_at = now(),
             notified_at = ${announced ? row.now : row.notified_at},
             count = ${decision.status === 'new' ? count : row.count + count},
             unannounced = ${announced ? 0 : row.unannounced + count}
       WHERE fingerprint = ${row.fingerprint}`);
  }
  return decisions;
}

function decide(row: GroupRow, count: number, { quietMs, followUpMs }: IncidentTiming): Announcement {
  const now = row.now.getTime();
  if (row.last_seen_at.getTime() <= now - quietMs) {
    return { status: 'new', openedAt: row.now, sinceLastAlert: count, sinceOpened: count };
  }
  if (row.notified_at.getTime() <= now - followUpMs) {
    return { status: 'ongoing', openedAt: row.opened_at, sinceLastAlert: row.unannounced + count, sinceOpened: row.count + count };
  }
  return { status: 'silent' };
}
