// The PostgreSQL client: Prisma 7 over the `pg` driver adapter (no native query engine).
import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from '@/lib/generated/prisma/client';
import { config } from '@/lib/config';

export type Db = PrismaClient;
export { Prisma };

export interface DbOptions {
  /** Pool size of this process. */
  maxConnections?: number;
  /**
   * How long to wait for a connection before giving up. 1.5 s keeps "database down" answers
   * inside the signup's 2 s budget instead of hanging on a dead host.
   */
  connectionTimeoutMs?: number;
  /** Shown in pg_stat_activity, so an operator can tell whose connections are whose. */
  applicationName?: string;
}

export function createDb(databaseUrl: string, options: DbOptions = {}): Db {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 1_500,
    application_name: options.applicationName,
    // A query that takes longer than this is a bug or an outage; fail it rather than queue behind it.
    statement_timeout: 5_000,
  });
  return new PrismaClient({ adapter });
}

// Next's dev server re-evaluates modules on every edit; keeping the client on globalThis stops each
// reload from opening another pool.
const holder = globalThis as typeof globalThis & { __signupDb?: Db };

/** The process's database client, created on first use. */
export function db(): Db {
  const settings = config();
  holder.__signupDb ??= createDb(settings.databaseUrl, { maxConnections: settings.databasePoolSize, applicationName: 'signup-web' });
  return holder.__signupDb;
}

/** True when Prisma reports a unique-constraint violation (the "already done" signal of an effect). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
