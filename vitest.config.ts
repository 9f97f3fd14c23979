import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { testDatabaseUrl } from './tests/helpers/test-database-url.ts';

export default defineConfig({
  resolve: {
    tsconfigPaths: true,
    // `server-only` throws outside React's server bundle; tests call server modules directly.
    alias: { 'server-only': fileURLToPath(new URL('./tests/helpers/empty-module.ts', import.meta.url)) },
  },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'e2e/**', '.next/**'],
    // Each worker process gets its own database under this one (tests/setup-database.ts).
    setupFiles: ['tests/setup-database.ts'],
    env: {
      NODE_ENV: 'test',
      TEST_DATABASE_BASE_URL: testDatabaseUrl(),
      DATABASE_URL: testDatabaseUrl(),
      ADMIN_PASSWORD: 'test-admin-password',
    },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file starts its own mocks and queue prefix, and each worker has its own database, so files
    // run in parallel safely. Most of a file's time is spent waiting on workers, backoffs and locks,
    // not on a core: two at once even where vitest's default (cores − 1) would give one.
    pool: 'forks',
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
