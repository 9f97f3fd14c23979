// The tests' databases: `signup_test` on the server DATABASE_URL names, so a test run never touches
// the development database, whatever the environment says, and one per vitest worker under it
// (`signup_test_1`, `signup_test_2`, …), so test files that run at the same time never share rows:
// one file's outbox relay, reconciler or retention sweep cannot claim another file's work.
// TEST_DATABASE renames the base, for two runs at once on one server (CI runs the integration suite
// against the Valkey Cluster and against Redis 7 side by side).
import { loadConfig } from '../../lib/config.ts';

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,50}$/;

export function testDatabaseUrl(env: Record<string, string | undefined> = process.env): string {
  const name = env.TEST_DATABASE || 'signup_test';
  if (!DATABASE_NAME.test(name)) {
    throw new Error(`TEST_DATABASE must be a lower-case PostgreSQL name (letters, digits, _), got "${name}"`);
  }
  const url = new URL(loadConfig(env).databaseUrl);
  if (url.pathname === `/${name}`) {
    throw new Error(`TEST_DATABASE must not be DATABASE_URL's own database ("${name}"): the tests delete rows`);
  }
  url.pathname = `/${name}`;
  return url.toString();
}

/** The database of one vitest worker (VITEST_POOL_ID) under the run's base test database. */
export function workerDatabaseUrl(baseUrl: string, poolId: string | undefined): string {
  if (!poolId || !/^\d+$/.test(poolId)) throw new Error(`expected a vitest worker's VITEST_POOL_ID, got "${poolId}"`);
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname}_${poolId}`;
  return url.toString();
}
