// The e2e database, read directly where a spec checks what was stored, or that nothing was.
import pg from 'pg';
import { E2E } from './e2e-environment';

async function query<Row extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: E2E.databaseUrl });
  await client.connect();
  try {
    return (await client.query<Row>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The user's id, or undefined when no user has this email (emails are citext: case does not matter). */
export async function userIdByEmail(email: string): Promise<string | undefined> {
  const rows = await query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email]);
  return rows[0]?.id;
}

export async function countUsers(): Promise<number> {
  const rows = await query<{ count: string }>('SELECT count(*) FROM users');
  return Number(rows[0]?.count);
}

/** Makes every status link of the user expire now, as a week's wait would. */
export async function expireStatusLinks(userId: string): Promise<void> {
  await query("UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND purpose = 'status'", [userId]);
}

/** How many CRM contacts the app stored for the user: the sync job's effect, at most one. */
export async function crmContactsOf(userId: string): Promise<number> {
  const rows = await query<{ count: string }>('SELECT count(*) FROM crm_contacts WHERE user_id = $1', [userId]);
  return Number(rows[0]?.count);
}
