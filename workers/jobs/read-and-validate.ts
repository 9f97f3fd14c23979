// The first step of every handler, in one statement: is the job's effect already recorded (by its
// contract's declaration, lib/job-effects.ts), and does what the job is for still exist? A job
// that finds its effect completes as "already done"; one whose user or invitation is gone skips.
import { effectAppliedSql } from '@/lib/job-effects';
import { query, sql } from '@/lib/sql';
import type { JobContract } from '@/workers/jobs/define-job';
import type { HandlerContext } from '@/workers/jobs/handler-context';

export interface UserRow {
  email: string;
  name: string;
  workspace: string | null;
  verifyToken: string;
  statusToken: string;
  emailVerified: boolean;
}

/** Whether the job is done, and the user it is for (undefined once the account is deleted). */
export async function effectAndUser<Payload extends Record<string, unknown>>(
  ctx: HandlerContext,
  contract: JobContract<Payload>,
  payload: Payload,
  userId: string,
): Promise<{ done: boolean; user?: UserRow }> {
  const [row] = await query<{ done: boolean } & ({ email: null } | UserRow)>(ctx.pool, sql`
    SELECT ${effectAppliedSql(contract as unknown as JobContract, payload)} AS done,
           u.email, u.name, u.workspace, u.verify_token AS "verifyToken", u.status_token AS "statusToken",
           u.email_verified_at IS NOT NULL AS "emailVerified"
      FROM (SELECT ${userId}::uuid AS id) AS wanted
      LEFT JOIN users u ON u.id = wanted.id`);
  if (!row) throw new Error('read-and-validate returned no row');
  const { done, ...user } = row;
  return user.email === null ? { done } : { done, user: user as UserRow };
}

export interface InvitationRow {
  workspace: string;
  email: string;
  /** The address signed up since it was invited. */
  hasAccount: boolean;
}

/** Whether the job is done, and the invitation it is for (undefined once withdrawn). */
export async function effectAndInvitation<Payload extends Record<string, unknown>>(
  ctx: HandlerContext,
  contract: JobContract<Payload>,
  payload: Payload,
  invitationId: string,
): Promise<{ done: boolean; invitation?: InvitationRow }> {
  const [row] = await query<{ done: boolean; workspace: string | null; email: string | null; hasAccount: boolean }>(ctx.pool, sql`
    SELECT ${effectAppliedSql(contract as unknown as JobContract, payload)} AS done, i.workspace, i.email,
           EXISTS (SELECT 1 FROM users u WHERE u.email = i.email) AS "hasAccount"
      FROM (SELECT ${invitationId}::uuid AS id) AS wanted
      LEFT JOIN invitations i ON i.id = wanted.id`);
  if (!row) throw new Error('read-and-validate returned no row');
  const { done, workspace, email, hasAccount } = row;
  return workspace === null || email === null ? { done } : { done, invitation: { workspace, email, hasAccount } };
}
