// The first step of every handler, in one statement: is the job's effect already recorded (by its
// contract's declaration, lib/job-effects.ts), and does what the job is for still exist? A job
// that finds its effect completes as "already done"; one whose user or invitation is gone skips.
// An email job that puts a link in its message also mints the link's token in that statement
// (lib/access-tokens.ts), so the link costs no round trip of its own.
import { insertTokenSql, newToken, type TokenPurpose } from '@/lib/access-tokens';
import { effectAppliedSql } from '@/lib/job-effects';
import { query, sql } from '@/lib/sql';
import type { JobContract } from '@/workers/jobs/define-job';
import type { HandlerContext } from '@/workers/jobs/handler-context';

export interface UserRow {
  email: string;
  name: string;
  workspace: string | null;
  emailVerified: boolean;
}

/**
 * Whether the job is done, and the user it is for (undefined once the account is deleted). With
 * `mint`, a new token of that purpose is saved for the user, unless the job is done or the user
 * gone, and returned with the user: the token for the link in the email about to be sent.
 */
export async function effectAndUser<Payload extends Record<string, unknown>>(
  ctx: HandlerContext,
  contract: JobContract<Payload>,
  payload: Payload,
  userId: string,
): Promise<{ done: boolean; user?: UserRow }>;
export async function effectAndUser<Payload extends Record<string, unknown>>(
  ctx: HandlerContext,
  contract: JobContract<Payload>,
  payload: Payload,
  userId: string,
  mint: TokenPurpose,
): Promise<{ done: boolean; user?: UserRow & { token: string } }>;
export async function effectAndUser<Payload extends Record<string, unknown>>(
  ctx: HandlerContext,
  contract: JobContract<Payload>,
  payload: Payload,
  userId: string,
  mint?: TokenPurpose,
): Promise<{ done: boolean; user?: UserRow & { token?: string } }> {
  const done = effectAppliedSql(contract as unknown as JobContract, payload);
  const token = mint ? newToken() : undefined;
  const state = sql`
    SELECT ${done} AS done, u.email, u.name, u.workspace, u.email_verified_at IS NOT NULL AS "emailVerified"
      FROM (SELECT ${userId}::uuid AS id) AS wanted
      LEFT JOIN users u ON u.id = wanted.id`;
  const [row] = await query<{ done: boolean } & ({ email: null } | UserRow)>(
    ctx.pool,
    mint && token
      ? sql`
          WITH state AS (${state}),
               minted AS (${insertTokenSql(sql`${userId}::uuid`, mint, token, sql`EXISTS (SELECT 1 FROM state WHERE email IS NOT NULL AND NOT done)`)})
          SELECT * FROM state`
      : state,
  );
  if (!row) throw new Error('read-and-validate returned no row');
  const { done: isDone, ...user } = row;
  if (user.email === null) return { done: isDone };
  return { done: isDone, user: token ? { ...(user as UserRow), token } : (user as UserRow) };
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
