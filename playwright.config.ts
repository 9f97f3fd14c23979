// The end-to-end suite: Debian's Chromium against a production build of the whole stack
// (`npm start`: migrate, web, workers, mock providers), started here on its own ports, database,
// queue prefix and Valkey server (e2e/support/run-stack.ts) so it never touches a developer's running demo.
import { execSync } from 'node:child_process';
import { defineConfig } from '@playwright/test';
import { E2E } from './e2e/support/e2e-environment';

const chromium = execSync('command -v chromium || command -v chromium-browser', { encoding: 'utf8' }).trim();

export default defineConfig({
  testDir: './e2e',
  outputDir: './e2e/.artifacts/results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  // Specs that wait out an outage set their own, longer limits.
  timeout: 60_000,
  expect: { timeout: 20_000 },
  reporter: [['list'], ['html', { outputFolder: 'e2e/.artifacts/report', open: 'never' }]],
  globalSetup: './e2e/support/global-setup.ts',
  use: {
    baseURL: E2E.baseUrl,
    // The README's screenshots (docs/screenshots/) are taken at this size.
    viewport: { width: 1280, height: 900 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: chromium,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  webServer: {
    command: 'node --import tsx e2e/support/run-stack.ts',
    url: `${E2E.baseUrl}/api/health`,
    timeout: 180_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    env: E2E.env,
    gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
  },
});
