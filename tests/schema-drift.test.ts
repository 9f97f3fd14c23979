// Fails when prisma/schema.prisma and the database prisma/migrations builds disagree. The
// migrations are hand-written (the native schema engine that would generate them cannot be fetched
// here, see prisma/migrate.ts), so this is what keeps them honest: a throwaway database is migrated
// and its tables, columns, keys, indexes and foreign keys are compared with the schema's, in both
// directions. Also covers the runner itself: applied once, recorded as Prisma records, refusals.
// Needs the PostgreSQL server DATABASE_URL points at (the database itself is never touched).
import { createHash, randomUUID } from 'node:crypto';
import { appendFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config';
import { applyMigrations } from '../prisma/migrate';
import { shapeOfDatabase, shapeOfSchema, type SchemaShape } from './helpers/db-schema-shape';
import { createTempDatabase, type TempDatabase } from './helpers/db-temp-database';

const SCHEMA_FILE = fileURLToPath(new URL('../prisma/schema.prisma', import.meta.url));
const MIGRATIONS_DIR = fileURLToPath(new URL('../prisma/migrations', import.meta.url));

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

async function migrationNames(migrationsDir: string): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
}

const tableExists = (url: string, table: string) =>
  withClient(url, async (client) => {
    const { rows } = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [table]);
    return rows[0]?.oid !== null;
  });

const recordedMigrations = (url: string) =>
  withClient(url, async (client) => {
    const sql = 'SELECT migration_name FROM _prisma_migrations ORDER BY migration_name';
    return (await client.query<{ migration_name: string }>(sql)).rows.map((row) => row.migration_name);
  });

const checksumOf = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

describe('prisma/migrations', () => {
  describe('applied to an empty database', () => {
    let database: TempDatabase | undefined;
    let url = '';
    let appliedOnFirstRun: string[] = [];
    let actual: SchemaShape;
    let expected: SchemaShape;

    beforeAll(async () => {
      expected = shapeOfSchema(await readFile(SCHEMA_FILE, 'utf8'));
      database = await createTempDatabase(loadConfig().databaseUrl, 'signup_drift');
      url = database.url;
      appliedOnFirstRun = await applyMigrations(url);
      actual = await withClient(url, shapeOfDatabase);
    });
    afterAll(() => database?.drop());

    it('creates exactly the tables schema.prisma declares', () => {
      expect(actual.tables).toEqual(expected.tables);
    });

    it('creates exactly the columns schema.prisma declares, with their types, nullability and defaults', () => {
      expect(actual.columns).toEqual(expected.columns);
    });

    it("creates exactly the primary keys, unique and plain indexes schema.prisma declares, by Prisma's names", () => {
      expect(actual.indexes).toEqual(expected.indexes);
    });

    it('creates exactly the foreign keys schema.prisma declares, with their referential actions', () => {
      expect(actual.foreignKeys).toEqual(expected.foreignKeys);
    });

    it('records every migration the way prisma migrate deploy does', async () => {
      const names = await migrationNames(MIGRATIONS_DIR);
      expect(appliedOnFirstRun).toEqual(names);
      const { rows } = await withClient(url, (client) =>
        client.query('SELECT * FROM _prisma_migrations ORDER BY migration_name'),
      );
      const checksums = await Promise.all(
        names.map((name) => checksumOf(path.join(MIGRATIONS_DIR, name, 'migration.sql'))),
      );
      expect(rows).toEqual(
        names.map((name, i) => expect.objectContaining({
          id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
          migration_name: name,
          checksum: checksums[i],
          finished_at: expect.any(Date),
          rolled_back_at: null,
          logs: null,
          applied_steps_count: 1,
        })),
      );
    });

    it('applies nothing when run again', async () => {
      expect(await applyMigrations(url)).toEqual([]);
      expect(await recordedMigrations(url)).toEqual(appliedOnFirstRun);
    });
  });

  describe('applyMigrations', () => {
    let database: TempDatabase;
    let migrationsDir: string;

    beforeEach(async () => {
      database = await createTempDatabase(loadConfig().databaseUrl, 'signup_migrate');
      migrationsDir = await mkdtemp(path.join(tmpdir(), 'signup-migrations-'));
      await cp(MIGRATIONS_DIR, migrationsDir, { recursive: true });
    });
    afterEach(async () => {
      await database.drop();
      await rm(migrationsDir, { recursive: true, force: true });
    });

    const addMigration = async (name: string, sql: string) => {
      await mkdir(path.join(migrationsDir, name));
      await writeFile(path.join(migrationsDir, name, 'migration.sql'), sql);
    };

    it('applies each migration once when several runners start together', async () => {
      const runs = await Promise.all([1, 2, 3].map(() => applyMigrations(database.url, { migrationsDir })));
      const names = await migrationNames(migrationsDir);
      expect(runs.flat().sort()).toEqual(names);
      expect(await recordedMigrations(database.url)).toEqual(names);
    });

    it('refuses to run when an applied migration was edited, and applies nothing', async () => {
      await applyMigrations(database.url, { migrationsDir });
      const [first = ''] = await migrationNames(migrationsDir);
      const edit = '\nCREATE TABLE "edited_in" ("id" INTEGER);\n';
      await appendFile(path.join(migrationsDir, first, 'migration.sql'), edit);
      await addMigration('29990101000000_later', 'CREATE TABLE "later" ("id" INTEGER);');

      await expect(applyMigrations(database.url, { migrationsDir })).rejects.toThrow(
        `migration ${first} was edited after it was applied`,
      );
      expect(await tableExists(database.url, 'edited_in')).toBe(false);
      expect(await tableExists(database.url, 'later')).toBe(false);
    });

    it('refuses to run while a failed migration is unresolved', async () => {
      await applyMigrations(database.url, { migrationsDir });
      await withClient(database.url, (client) =>
        client.query(`INSERT INTO _prisma_migrations (id, checksum, migration_name, logs) VALUES ($1, $2, $3, 'boom')`,
          [randomUUID(), '0'.repeat(64), '29990101000000_half_done']));
      await addMigration('29990102000000_later', 'CREATE TABLE "later" ("id" INTEGER);');

      await expect(applyMigrations(database.url, { migrationsDir })).rejects.toThrow(
        'migration 29990101000000_half_done failed earlier',
      );
      expect(await tableExists(database.url, 'later')).toBe(false);
    });

    it('rolls a failing migration back whole and leaves no record of it', async () => {
      const before = await migrationNames(migrationsDir);
      await addMigration('29990101000000_broken', 'CREATE TABLE "half_applied" ("id" INTEGER);\nSELECT 1 / 0;\n');

      await expect(applyMigrations(database.url, { migrationsDir })).rejects.toThrow(
        'migration 29990101000000_broken failed and was rolled back: division by zero',
      );
      expect(await tableExists(database.url, 'half_applied')).toBe(false);
      expect(await tableExists(database.url, 'users')).toBe(true);
      expect(await recordedMigrations(database.url)).toEqual(before);
    });
  });
});
