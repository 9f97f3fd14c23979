// Before each test file, in its worker process: DATABASE_URL becomes this worker's own database
// (tests/helpers/test-database-url.ts), created and migrated if it is not yet. Every database client
// a test makes, and every child process it starts, reads DATABASE_URL after this.
import { applyMigrations, createDatabaseIfMissing } from '../prisma/migrate';
import { workerDatabaseUrl } from './helpers/test-database-url';

const base = process.env.TEST_DATABASE_BASE_URL;
if (!base) throw new Error('TEST_DATABASE_BASE_URL is set by vitest.config.ts');
const url = workerDatabaseUrl(base, process.env.VITEST_POOL_ID);
process.env.DATABASE_URL = url;
await createDatabaseIfMissing(url);
await applyMigrations(url);
