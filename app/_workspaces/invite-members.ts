// The producer of workspace invitations, the bulk sibling of create-signup.ts. One transaction saves
// the new invitations and one outbox row per new invitation (a send-invite-email job paced by the
// workspace, lib/tenant-pacer.ts), so a committed invitation can never lose its email; after commit
// the jobs go to Valkey at once if it answers, and otherwise wait in the outbox for the relay.
//
// Addresses already invited to the workspace are skipped, not refused (INSERT … ON CONFLICT DO
// NOTHING on the (workspace, email) key, which also settles two requests racing for one address):
// a retried request, or a list that overlaps last week's, invites nobody twice and mails nobody
// twice, because only the rows this request inserted get an outbox row.
//
// Who may call this is decided by the callers (invite-request.ts, invite-actions.ts): the admin.
import 'server-only';
import { randomUUID } from 'node:crypto';
import { dispatchNow, writeOutbox, type OutboxRow } from '@/lib/outbox';
import type { QueueSet } from '@/lib/queues';
import { query, sql, transaction, type Pool, type Queryable } from '@/lib/sql';
import { jobOptions, outboxEntry, pacedByTenant, sendInviteEmail } from '@/workers/jobs/job-contracts';
import type { InviteInput } from '@/app/_workspaces/invite-input';

export type InviteOutcome =
  | {
      status: 'invited';
      /** Invitations this request created, each with its email job. */
      count: number;
      /** Addresses that already had an invitation to the workspace; nothing was done for them. */
      alreadyInvited: number;
      /** False when Valkey did not take the jobs now; the relay sends them later. */
      dispatched: boolean;
    }
  | { status: 'unavailable'; error: unknown };

export interface InviteMembersDeps {
  pool: Pool;
  queues: QueueSet;
}

/**
 * How long the whole save may take. A signup's 1.5 s cannot hold 10,000 invitations and their
 * 10,000 outbox rows: about 2 s on an idle 2-core machine here, and up to 9 s with the whole test
 * suite running beside it (writing the outbox rows is most of it). 20 s is twice that worst case,
 * and still rolls a stuck transaction back before a proxy's 30–60 s request timeout. A database
 * that is down is answered sooner: the pool waits 1.5 s for a connection, and each statement has
 * 5 s (lib/sql.ts).
 */
const SAVE_BUDGET_MS = 20_000;

/**
 * Outbox rows per INSERT: a thousand keeps every statement far inside the 5 s statement timeout
 * (lib/sql.ts) and its arrays of values small, however long the list.
 */
const OUTBOX_ROWS_PER_STATEMENT = 1_000;

/**
 * Jobs per dispatch after commit. The producer connection gives each Valkey command 500 ms and
 * dispatchNow has the same deadline (lib/valkey.ts, lib/outbox.ts): one add of 5,000 jobs misses
 * it (it timed out here), while 500 take 50–250 ms, busy machine included. Batches go one after
 * another, each reserving its slots on the workspace's clock right after the previous one's, so the
 * pacing is the same as for one batch. The relay sends its rows in batches of 200 for the same reason.
 */
const DISPATCH_BATCH = 500;

/**
 * How long the request keeps dispatching before it leaves the rest to the relay: 10,000 jobs took
 * 2–5 s here; a Valkey slow enough to need more should not hold the admin's answer any longer.
 */
const DISPATCH_BUDGET_MS = 5_000;

export async function inviteMembers({ workspace, emails }: InviteInput, { pool, queues }: InviteMembersDeps): Promise<InviteOutcome> {
  let rows: OutboxRow[];
  try {
    rows = await transaction(
      pool,
      async (client) => {
        const created = await insertNewInvitations(client, workspace, emails);
        const written: OutboxRow[] = [];
        for (let start = 0; start < created.length; start += OUTBOX_ROWS_PER_STATEMENT) {
          const entries = created
            .slice(start, start + OUTBOX_ROWS_PER_STATEMENT)
            .map((invitationId) => outboxEntry(sendInviteEmail, { invitationId }, { tenant: workspace }));
          written.push(...(await writeOutbox(client, entries)));
        }
        return written;
      },
      { deadlineMs: SAVE_BUDGET_MS },
    );
  } catch (error) {
    return { status: 'unavailable', error };
  }

  const dispatched = await dispatchInBatches(pool, queues, rows);
  return { status: 'invited', count: rows.length, alreadyInvited: emails.length - rows.length, dispatched };
}

/**
 * Inserts the addresses not yet invited to the workspace and returns the new invitations' ids in
 * list order, which is the order their emails are paced in. One statement over two arrays rather
 * than Prisma's createManyAndReturn, which took 1.5–2.5 s for 10,000 rows here, nearly all of it in
 * building and reading the query, against 0.2–0.4 s for this: time the outbox rows need.
 */
async function insertNewInvitations(client: Queryable, workspace: string, emails: string[]): Promise<string[]> {
  const ids = emails.map(() => randomUUID());
  const inserted = await query<{ id: string }>(client, sql`
    INSERT INTO invitations (id, workspace, email)
    SELECT given.id, ${workspace}, given.email
      FROM unnest(${ids}::uuid[], ${emails}::citext[]) AS given(id, email)
        ON CONFLICT (workspace, email) DO NOTHING
    RETURNING id`);
  // RETURNING promises no order.
  const position = new Map<string, number>(ids.map((id, index) => [id, index]));
  return inserted.map((row) => row.id).sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0));
}

/**
 * The fast path, DISPATCH_BATCH rows at a time. True when every row went out and was marked; at the
 * first batch Valkey does not take, or past the budget, the rest stay pending for the relay.
 */
async function dispatchInBatches(pool: Pool, queues: QueueSet, rows: OutboxRow[]): Promise<boolean> {
  const deadline = Date.now() + DISPATCH_BUDGET_MS;
  let allMarked = true;
  for (let start = 0; start < rows.length; start += DISPATCH_BATCH) {
    if (Date.now() > deadline) return false;
    try {
      if (!(await dispatchNow(pool, { queues, jobOptions, pacedByTenant }, rows.slice(start, start + DISPATCH_BATCH)))) return false;
    } catch {
      // The jobs reached Valkey but marking the rows failed (the database blinked after commit): the
      // relay re-dispatches them under the same job ids, which adds nothing twice.
      allMarked = false;
    }
  }
  return allMarked;
}
