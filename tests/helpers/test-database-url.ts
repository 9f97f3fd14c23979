// The tests' database: `signup_test` on the server DATABASE_URL names, so a test run never touches
// the development database, whatever the environment says.
import { loadConfig } from '../../lib/config.ts';

export function testDatabaseUrl(): string {
  const url = new URL(loadConfig().databaseUrl);
  url.pathname = '/signup_test';
  return url.toString();
}
