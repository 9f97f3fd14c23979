// `npm run db:migrate` (bundled as dist/migrate.js): creates the database if it is missing, then
// applies the migrations that are not applied yet (prisma/migrate.ts). Exits 1 with the reason on
// one line when it cannot.
import { config } from '../lib/config';
import { applyMigrations, createDatabaseIfMissing } from './migrate';

try {
  const { databaseUrl } = config();
  if (await createDatabaseIfMissing(databaseUrl)) {
    console.log(`db:migrate: created database ${decodeURIComponent(new URL(databaseUrl).pathname.slice(1))}`);
  }
  const applied = await applyMigrations(databaseUrl, { log: (line) => console.log(`db:migrate: ${line}`) });
  const summary = applied.length === 0 ? 'up to date, nothing to apply' : `${applied.length} migration(s) applied`;
  console.log(`db:migrate: ${summary}`);
} catch (error: unknown) {
  console.error(`db:migrate failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
