import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { testDatabaseUrl } from './tests/helpers/test-database-url.ts';

const testDatabase = testDatabaseUrl();

export default defineConfig({
  resolve: {
    tsconfigPaths: true,
    // `server-only` throws outside React's server bundle; tests call server modules directly.
    alias: { 'server-only': fileURLToPath(new URL('./tests/helpers/empty-module.ts', import.meta.url)) },
  },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'e2e/**', '.next/**'],
    // Each worker process gets its own database under this one (tests/setup-database.ts), dropped
    // at the start of the next run (tests/global-setup.ts).
    globalSetup: ['tests/global-setup.ts'],
    setupFiles: ['tests/setup-database.ts'],
    env: {
      NODE_ENV: 'test',
      TEST_DATABASE_BASE_URL: testDatabase,
      DATABASE_URL: testDatabase,
      ADMIN_PASSWORD: 'test-admin-password',
    },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file starts its own mocks and queue prefix, and each worker has its own database, so files
    // run in parallel safely (vitest's default: cores − 1 at once). Two at once on a two-core machine
    // took npm test from ~365 s to ~185 s, and made timing-sensitive tests flakier on a loaded
    // machine, so CI keeps the default and runs its two extra integration suites side by side
    // instead. (A Valkey-outage test's lost dispatch, once blamed on this, was a Queue whose
    // handshake the outage had cut; lib/queues.ts now replaces such a Queue.)
    pool: 'forks',
  },
});
