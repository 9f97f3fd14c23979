// Throwaway PostgreSQL databases for integration tests: each suite gets its own empty database on
// the server its base URL points at, so suites run in parallel without seeing each other's rows.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TempDatabase {
  name: string;
  /** The base URL with its database swapped for this one (credentials and options kept). */
  url: string;
  /** Drops the database, closing any connection still open on it. Safe to call twice. */
  drop(): Promise<void>;
}

/** Creates an empty database named `<prefix>_<random hex>` beside the one `baseUrl` names. */
export async function createTempDatabase(baseUrl: string, prefix = 'signup_test'): Promise<TempDatabase> {
  if (!/^[a-z][a-z0-9_]*$/.test(prefix)) throw new Error(`invalid database name prefix: ${prefix}`);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const identifier = pg.escapeIdentifier(name);
  await onMaintenanceDatabase(baseUrl, `CREATE DATABASE ${identifier}`);
  return {
    name,
    url: withDatabase(baseUrl, name),
    // WITH (FORCE): a test that failed half-way may have left a pool open on it.
    drop: () => onMaintenanceDatabase(baseUrl, `DROP DATABASE IF EXISTS ${identifier} WITH (FORCE)`),
  };
}

function withDatabase(baseUrl: string, database: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

// CREATE/DROP DATABASE cannot run inside the database they act on; `postgres` always exists.
async function onMaintenanceDatabase(baseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(baseUrl, 'postgres') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
