// The link in every email, /verify/<token>. Opening it (GET) changes nothing: mail scanners and
// link previews open links, so the GET shows a page whose button (POST) does the work. Using it
// confirms the address (once; again changes nothing), consumes every email link the account has,
// so no other copy of any email keeps the power, and mints a fresh status link to land on.
// A used or expired link can still ask for a new one to be mailed to the account's own address
// (resend-verification.ts).
import 'server-only';
import { insertTokenSql, newToken, tokenHash, tokenStateSql, toTokenState, type TokenState } from '@/lib/access-tokens';
import { query, sql, transactionInOneTrip, type Pool } from '@/lib/sql';

/** The statement's budget: a sick database answers 503 within ~2 s. */
const WRITE_BUDGET_MS = 1_500;

/** What the link opens, with whether the address is confirmed already (for the page's wording). */
export async function emailLinkState(pool: Pool, token: string): Promise<TokenState & { verified?: boolean }> {
  const [row] = await query<{ userId: string; state: 'live' | 'expired' | 'used'; verified: boolean }>(pool, sql`
    SELECT link.*, u.email_verified_at IS NOT NULL AS verified
      FROM (${tokenStateSql('verify', token)}) AS link JOIN users u ON u.id = link."userId"`);
  return row ? { ...toTokenState(row), verified: row.verified } : { state: 'unknown' };
}

export type UseOutcome =
  | { status: 'used'; userId: string; statusToken: string }
  | { status: 'refused'; link: Exclude<TokenState, { state: 'live' }> };

/**
 * Uses the link, in one statement: it is claimed only if still unused and unexpired, so of two
 * presses at once (a double click, a scanner racing the person) exactly one gets through.
 */
export async function useEmailLink(pool: Pool, token: string): Promise<UseOutcome> {
  const statusToken = newToken();
  const [rows] = await transactionInOneTrip<[Array<{ id: string }>]>(pool, WRITE_BUDGET_MS, [
    sql`
      WITH claimed AS (
        SELECT user_id FROM access_tokens
         WHERE token_hash = ${tokenHash(token)} AND purpose = 'verify' AND consumed_at IS NULL AND expires_at > now()
      ), used AS (
        UPDATE access_tokens SET consumed_at = now()
         WHERE user_id = (SELECT user_id FROM claimed) AND purpose = 'verify' AND consumed_at IS NULL
        RETURNING user_id
      ), confirmed AS (
        UPDATE users SET email_verified_at = coalesce(email_verified_at, now()), link_requests = 0
         WHERE id = (SELECT user_id FROM used LIMIT 1)
        RETURNING id
      ), landing AS (${insertTokenSql(sql`(SELECT id FROM confirmed)`, 'status', statusToken, sql`EXISTS (SELECT 1 FROM confirmed)`)})
      SELECT id FROM confirmed`,
  ]);
  const userId = rows[0]?.id;
  if (userId) return { status: 'used', userId, statusToken };
  const link = await emailLinkState(pool, token);
  if (link.state === 'unknown') return { status: 'refused', link: { state: 'unknown' } };
  // Live but not claimed: another press used it between the two statements.
  return { status: 'refused', link: { state: link.state === 'live' ? 'used' : link.state, userId: link.userId } };
}
