// Applies prisma/migrations/*/migration.sql in order, each once, and records them in
// _prisma_migrations exactly as `prisma migrate deploy` does. It exists because the Prisma CLI's
// native schema engine cannot be fetched on our machines, so migrations are hand-written SQL
// (tests/schema-drift.test.ts checks them against schema.prisma); a machine that has the engine
// can run `prisma migrate deploy` on the same database and finds every migration applied.
// `npm run db:migrate` runs it through prisma/db-migrate.ts; `npm start` calls it directly. The
// migrations are read from ./migrations beside this module: prisma/migrations from source, and
// dist/migrations, which the bundle step copies, from the bundles.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

// The key `prisma migrate deploy` locks too, so this runner and Prisma's serialise with each other.
const PRISMA_MIGRATE_LOCK_KEY = 72707369;
const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

// Prisma's own definition, so both tools read and write the same table.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export interface ApplyMigrationsOptions {
  /** Defaults to prisma/migrations beside this file. */
  migrationsDir?: string;
  log?: (line: string) => void;
}

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

/** Applies the migrations the database has not recorded yet; returns their names, in order. */
export async function applyMigrations(databaseUrl: string, options: ApplyMigrationsOptions = {}): Promise<string[]> {
  const log = options.log ?? (() => {});
  const migrations = await readMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // Session-level: ending the connection releases it, whatever happens below.
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    await client.query(CREATE_MIGRATIONS_TABLE);
    // Rolled-back rows are history only: Prisma treats their migrations as not applied.
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
    );
    const failed = rows.find((row) => row.finished_at === null);
    if (failed) {
      throw new MigrationError(
        `migration ${failed.migration_name} failed earlier and is unresolved; fix the database, then mark it ` +
          `with \`prisma migrate resolve\` (or delete its _prisma_migrations row) before migrating again`,
      );
    }
    const appliedChecksums = new Map(rows.map((row) => [row.migration_name, row.checksum]));
    const pending: Migration[] = [];
    for (const migration of migrations) {
      const appliedChecksum = appliedChecksums.get(migration.name);
      if (appliedChecksum === undefined) pending.push(migration);
      else if (appliedChecksum !== migration.checksum) {
        throw new MigrationError(
          `migration ${migration.name} was edited after it was applied (checksum ${appliedChecksum} in the ` +
            `database, ${migration.checksum} on disk); restore it and add a new migration instead`,
        );
      }
    }
    for (const migration of pending) {
      await applyMigration(client, migration);
      log(`applied ${migration.name}`);
    }
    return pending.map((migration) => migration.name);
  } finally {
    await client.end();
  }
}

// One transaction per migration, so a failing one leaves neither half its changes nor a failed
// row behind. (Prisma itself runs the script without a transaction; none of ours needs that.)
async function applyMigration(client: pg.Client, migration: Migration): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(migration.sql);
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await client.query('COMMIT');
  } catch (error) {
    // The original error is the one worth reporting; a broken connection rolls back by itself.
    await client.query('ROLLBACK').catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`migration ${migration.name} failed and was rolled back: ${reason}`, { cause: error });
  }
}

async function readMigrations(migrationsDir: string): Promise<Migration[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(migrationsDir, name, 'migration.sql'), 'utf8');
      // Prisma's checksum: sha256 of the file's bytes, in hex.
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/** Creates the database the URL names when it does not exist; true when it created it. */
export async function createDatabaseIfMissing(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (name === '') throw new MigrationError('the database URL names no database');
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount !== 0) return false;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    return true;
  } catch (error) {
    // Another runner created it between our check and our CREATE.
    if (error instanceof Error && 'code' in error && (error.code === '42P04' || error.code === '23505')) return false;
    throw error;
  } finally {
    await client.end();
  }
}

