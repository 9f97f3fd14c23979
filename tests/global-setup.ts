// Once per `vitest run`, before any worker starts: drops the worker databases an earlier run on
// this server left behind (`signup_test_1`, `signup_test_2`, …), so every run starts from empty
// tables and tests/setup-database.ts creates and migrates them afresh. Rows outlive the run that
// wrote them otherwise: a file that moves its outbox rows days into the past (the reconciler's
// tests do) would, a few dozen runs later, find an earlier run's rows in its own window.
// A database still in use belongs to a run going on now under the same TEST_DATABASE: it is left
// alone, and named, instead of being pulled from under that run.
import pg from 'pg';
import { testDatabaseUrl } from './helpers/test-database-url';

// vitest calls a global setup with its project as the argument: the default export takes none.
export default function setup(): Promise<void> {
  return dropEarlierRunsDatabases(process.env);
}

export async function dropEarlierRunsDatabases(env: Record<string, string | undefined>): Promise<void> {
  const base = new URL(testDatabaseUrl(env));
  const baseName = decodeURIComponent(base.pathname.slice(1));
  base.pathname = '/postgres';
  const client = new pg.Client({ connectionString: base.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname ~ ('^' || $1 || '_[0-9]+$')`,
      [baseName],
    );
    for (const { datname } of rows) {
      try {
        await client.query(`DROP DATABASE ${pg.escapeIdentifier(datname)}`);
      } catch (error) {
        // 55006: other sessions are using it.
        if (!(error instanceof Error && 'code' in error && error.code === '55006')) throw error;
        console.warn(`left ${datname} in place: another test run is using it (set TEST_DATABASE to run two at once)`);
      }
    }
  } finally {
    await client.end();
  }
}
