// Once per test run: make sure the test database exists and is migrated.
import { applyMigrations, createDatabaseIfMissing } from '../prisma/migrate';
import { testDatabaseUrl } from './helpers/test-database-url';

export default async function setup(): Promise<void> {
  await createDatabaseIfMissing(testDatabaseUrl());
  await applyMigrations(testDatabaseUrl());
}
