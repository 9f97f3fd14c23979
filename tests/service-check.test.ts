// A missing PostgreSQL or Valkey, as a newcomer meets it: each command that needs them (npm start,
// npm run workers, npm test, npm run e2e) is run as the real process against a closed port, and
// must exit 1 with one paragraph that names the service, the variable and a command that starts
// one, and no stack trace. And while npm start runs, a Valkey that goes away is said so, again and
// again, and once more when it is back.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@/lib/config';
import { watchValkey } from '@/lib/service-check';
import { waitFor } from '@/tests/helpers/test-stack';
import { startValkeyProcess, type ValkeyProcess } from '@/tests/helpers/valkey-process';

/** Port 1 (tcpmux) is closed on any machine that runs these tests: connecting is refused at once. */
const CLOSED_POSTGRES = 'postgresql://postgres:secret-pw@127.0.0.1:1/signup';
const CLOSED_VALKEY = 'redis://127.0.0.1:1';

const live = loadConfig();

function run(entry: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', ...entry],
      // Only what the test sets; a developer's .env cannot change these (loadDotEnv keeps what is set).
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', ...env }, cwd: process.cwd(), timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

function expectPlainRefusal(result: { code: number; stdout: string; stderr: string }, service: RegExp, variable: string, closing: RegExp) {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(service);
  expect(result.stderr).toContain(variable);
  expect(result.stderr).toContain('docker run -d');
  expect(result.stderr).toMatch(closing);
  // No stack trace, and no password.
  expect(`${result.stdout}${result.stderr}`).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(`${result.stdout}${result.stderr}`).not.toContain('secret-pw');
}

const upValkey = { VALKEY_URL: live.valkey.url };
const upPostgres = { DATABASE_URL: live.databaseUrl };

describe('with PostgreSQL missing', () => {
  it('npm start says what is missing and starts nothing', async () => {
    const result = await run(['scripts/start-stack.ts'], { DATABASE_URL: CLOSED_POSTGRES, ...upValkey });
    expectPlainRefusal(result, /^PostgreSQL is not answering at 127\.0\.0\.1:1 \(DATABASE_URL=.*\): connection refused\./, 'DATABASE_URL', /npm start needs both; nothing was started\.$/m);
    expect(result.stdout).not.toContain('started (pid');
  });

  it('npm run workers says so and exits', async () => {
    const result = await run(['workers/main.ts'], { DATABASE_URL: CLOSED_POSTGRES, ...upValkey });
    expectPlainRefusal(result, /^PostgreSQL is not answering/, 'DATABASE_URL', /The workers need both; none was started\.$/m);
  });

  it('npm test says so before any test runs', async () => {
    const result = await run(['scripts/check-services.ts'], { DATABASE_URL: CLOSED_POSTGRES, ...upValkey });
    expectPlainRefusal(result, /^PostgreSQL is not answering/, 'DATABASE_URL', /npm test needs both; no test was run\.$/m);
  });

  it('npm run e2e says so before Playwright starts', async () => {
    const result = await run(['scripts/check-services.ts', '--e2e'], { DATABASE_URL: CLOSED_POSTGRES });
    expectPlainRefusal(result, /^PostgreSQL is not answering/, 'DATABASE_URL', /npm run e2e needs them; no test was run\.$/m);
  });
});

describe('with Valkey missing', () => {
  it('npm start says what is missing and starts nothing', async () => {
    const result = await run(['scripts/start-stack.ts'], { VALKEY_URL: CLOSED_VALKEY, ...upPostgres });
    expectPlainRefusal(result, /^Valkey is not answering at 127\.0\.0\.1:1 \(VALKEY_URL=redis:\/\/127\.0\.0\.1:1\): connection refused\./, 'VALKEY_URL', /npm start needs both/);
  });

  it('npm run workers says so and exits', async () => {
    const result = await run(['workers/main.ts'], { VALKEY_URL: CLOSED_VALKEY, ...upPostgres });
    expectPlainRefusal(result, /^Valkey is not answering/, 'VALKEY_URL', /The workers need both/);
  });

  it('npm test says so before any test runs', async () => {
    const result = await run(['scripts/check-services.ts'], { VALKEY_URL: CLOSED_VALKEY, ...upPostgres });
    expectPlainRefusal(result, /^Valkey is not answering/, 'VALKEY_URL', /npm test needs both/);
  });

  it('npm run e2e does not need one: it starts its own', async () => {
    const result = await run(['scripts/check-services.ts', '--e2e'], { VALKEY_URL: CLOSED_VALKEY, ...upPostgres });
    expect(result).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('with both there', () => {
  it('the check passes quietly', async () => {
    expect(await run(['scripts/check-services.ts'], { ...upPostgres, ...upValkey })).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('watching Valkey while the stack runs', () => {
  let valkey: ValkeyProcess;
  beforeAll(async () => {
    valkey = await startValkeyProcess();
  });
  afterAll(() => valkey?.stop());

  it('says it is down at every tick while it is, and once that it is back', async () => {
    const events: Array<{ state: string }> = [];
    const watch = watchValkey({ url: valkey.url }, 200, (event) => events.push(event));
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(events).toEqual([]);
      await valkey.stop();
      await waitFor(() => events.filter((event) => event.state === 'down').length >= 3, { what: 'three reports while down' });
      expect(events.every((event) => event.state === 'down')).toBe(true);
      await valkey.start();
      await waitFor(() => events.some((event) => event.state === 'back'), { what: 'the report that it is back' });
      const after = events.length;
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(events.filter((event) => event.state === 'back')).toHaveLength(1);
      expect(events).toHaveLength(after);
    } finally {
      watch.stop();
    }
  });
});
