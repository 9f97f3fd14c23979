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
    globalSetup: ['tests/global-setup.ts'],
    env: { NODE_ENV: 'test', DATABASE_URL: testDatabaseUrl(), ADMIN_PASSWORD: 'test-admin-password' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file starts its own mocks and queue prefix, so files run in parallel safely.
    pool: 'forks',
  },
});
