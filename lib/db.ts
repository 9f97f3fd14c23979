// Prisma 7 over the process's pg pool (lib/sql.ts), through the driver adapter: no native query
// engine. The web's admin pages and the tests read through it; the paths that run once per signup
// or per job use plain SQL on the same pool, and the worker processes never load Prisma at all.
import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from '@/lib/generated/prisma/client';
import { config } from '@/lib/config';
import { createPool, type Pool, type PoolOptions } from '@/lib/sql';

export type Db = PrismaClient;
export { Prisma };

/** Prisma over `source`: a pool to share, or a URL for a pool of its own. */
export function createDb(source: string | Pool, options: PoolOptions = {}): Db {
  const pool = typeof source === 'string' ? createPool(source, options) : source;
  return new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: typeof source === 'string' }) });
}

// Next's dev server re-evaluates modules on every edit; keeping the clients on globalThis stops each
// reload from opening another pool.
const holder = globalThis as typeof globalThis & { __signupPool?: Pool; __signupDb?: Db };

/** The web process's pool, created on first use. */
export function pool(): Pool {
  const settings = config();
  holder.__signupPool ??= createPool(settings.databaseUrl, {
    maxConnections: settings.databasePoolSize,
    applicationName: 'signup-web',
  });
  return holder.__signupPool;
}

/** The web process's Prisma client, over its pool. */
export function db(): Db {
  holder.__signupDb ??= createDb(pool());
  return holder.__signupDb;
}
