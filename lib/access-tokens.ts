// The links a person holds: the status page's (/welcome/<token>) and the one in every email
// (/verify/<token>). A token is 32 random bytes; the database keeps only its SHA-256, so a copy
// of the table, a backup or a replica opens nothing. Each token expires; an email link is also
// consumed on use, and using one consumes every other email link of the account, so old copies
// of old emails lose their power the moment one of them is used.
//
// Who makes a token is whoever hands it to the person: the signup answer carries a status token,
// and the email worker mints the email link it puts in the message, in the same statement that
// reads the user (workers/jobs/read-and-validate.ts). So no token ever travels in a job payload,
// and no secret is shared between the web and the workers. A retried email job mints another
// token; whichever copy of the message the mail server delivers holds a valid one.
//
// A hash without a salt is enough here: the input is 256 random bits, not a password, so there is
// no dictionary to run against it.
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Sql } from '@/lib/sql';

export type TokenPurpose = 'status' | 'verify';

/**
 * How long a token opens its page. A status link lives a week: long enough to come back to the
 * page, short enough that a forwarded or leaked link stops working on its own; the "getting
 * started" email (three days on) brings a fresh one. An email link lives 48 hours, the common
 * lifetime of a confirmation link; an expired one can ask for a new link to be mailed to the
 * account's own address.
 */
export const TOKEN_LIFETIME_SECONDS: Record<TokenPurpose, number> = {
  status: 7 * 24 * 60 * 60,
  verify: 48 * 60 * 60,
};

/** 32 random bytes: unguessable, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the database keeps of a token. */
export function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * An INSERT of a new token for the user `userId` (a SQL expression, so it can name a row being
 * written in the same statement), with its purpose's lifetime; only when `onlyIf` holds, if given.
 */
export function insertTokenSql(userId: Sql, purpose: TokenPurpose, token: string, onlyIf: Sql = sql`true`): Sql {
  return sql`
    INSERT INTO access_tokens (token_hash, user_id, purpose, expires_at)
    SELECT ${tokenHash(token)}, ${userId}, ${purpose},
           now() + make_interval(secs => ${TOKEN_LIFETIME_SECONDS[purpose]}::float8)
     WHERE ${onlyIf}`;
}

/** The user's status page; the token is its only key. */
export function statusPath(statusToken: string): string {
  return `/welcome/${statusToken}`;
}

/** The link in emails. */
export function emailLinkPath(verifyToken: string): string {
  return `/verify/${verifyToken}`;
}

/**
 * What a token opens now. `expired` and `used` still name their user, so the page can offer to
 * mail a fresh link to the account's own address; `unknown` names nobody.
 */
export type TokenState =
  | { state: 'live'; userId: string }
  | { state: 'expired' | 'used'; userId: string }
  | { state: 'unknown' };

/** The SELECT behind tokenStateOf(): one row or none. */
export function tokenStateSql(purpose: TokenPurpose, token: string): Sql {
  return sql`
    SELECT user_id AS "userId",
           CASE WHEN consumed_at IS NOT NULL THEN 'used'
                WHEN expires_at <= now() THEN 'expired'
                ELSE 'live' END AS state
      FROM access_tokens
     WHERE token_hash = ${tokenHash(token)} AND purpose = ${purpose}`;
}

/** A row of tokenStateSql() as a TokenState. */
export function toTokenState(row: { userId: string; state: 'live' | 'expired' | 'used' } | undefined): TokenState {
  return row ? { state: row.state, userId: row.userId } : { state: 'unknown' };
}

/**
 * A path with any token in it replaced by its route's placeholder, for spans and logs: a token in
 * a trace is a key to someone's account in the hands of everyone who reads traces.
 */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_IN_PATH, (_match, prefix: string) => `${prefix}[token]`);
}

/** /welcome/<t>, /api/welcome/<t>, /verify/<t>, wherever they appear in a string (a URL, a span name). */
const TOKEN_IN_PATH = /((?:\/api)?\/welcome\/|\/verify\/)(?!\[token\]|deleted(?:[/?#\s]|$))[^/?#\s]+/g;
