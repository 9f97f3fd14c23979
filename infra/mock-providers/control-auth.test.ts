// Who reaches the mocks' control and inspect routes, over real sockets: where `npm run mocks`
// listens by default, that it refuses to listen beyond loopback without MOCKS_TOKEN, and that with a
// token those routes answer and change nothing for anyone without it, while the providers (HTTP and
// SMTP) and /__health stay open as real third parties and probes need.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@/lib/config';
import { freePort } from '@/tests/helpers/valkey-process';
import { isLoopback } from './control-auth';
import { controlRoutes } from './control-routes';
import { controlHeaders } from './fault-control';
import { startMockProviders, type MockProviders } from './start-mock-providers';

const TOKEN = 'control-auth-test-token-0123456789';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A cold tsx compile of main.ts and its imports takes seconds on a busy two-core machine. */
const PROCESS_DEADLINE_MS = 20_000;

/** Each control and inspect route, as a request that would change or reveal something. */
const CONTROL_CALLS: Array<[string, string, string | undefined]> = [
  ['GET', '/__faults', undefined],
  ['PUT', '/__faults/crm', JSON.stringify({ mode: 'down' })],
  ['PUT', '/__faults/all', JSON.stringify({ mode: 'reject' })],
  ['GET', '/__inspect/crm', undefined],
  ['GET', '/__inspect/smtp', undefined],
  ['POST', '/__reset', undefined],
];
const REFUSED_CREDENTIALS: Array<[string, Record<string, string>]> = [
  ['no Authorization header', {}],
  ['a wrong token', { authorization: `Bearer ${TOKEN}x` }],
  ['the token under another scheme', { authorization: `Basic ${TOKEN}` }],
  ['an empty bearer', { authorization: 'Bearer ' }],
];

/** `npm run mocks` from source, as the image runs it, with only the variables given. */
function runMocksProcess(env: Record<string, string>, until: (output: string) => boolean) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/mock-providers/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const seen = new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`no such output within ${PROCESS_DEADLINE_MS} ms: ${output}`)), PROCESS_DEADLINE_MS);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (until(output)) {
        clearTimeout(deadline);
        resolve();
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', () => {
      clearTimeout(deadline);
      if (until(output)) resolve();
      else reject(new Error(`exited without such output: ${output}`));
    });
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, seen, exited, output: () => output };
}

describe('isLoopback', () => {
  it.each(['127.0.0.1', '127.8.9.10', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST'])(
    'counts %s as loopback',
    (host) => expect(isLoopback(host)).toBe(true),
  );
  it.each(['0.0.0.0', '::', '10.0.0.5', '128.0.0.1', '192.168.1.20', 'fe80::1', 'mocks', 'localhost.example.com', ''])(
    'counts %s as beyond loopback',
    (host) => expect(isLoopback(host)).toBe(false),
  );
});

describe('where `npm run mocks` listens', () => {
  it('listens on 127.0.0.1 when MOCKS_BIND is unset, as the listening socket reports', async () => {
    expect(loadConfig({}).mocks.bind).toBe('127.0.0.1');
    const [httpPort, smtpPort] = [await freePort(), await freePort()];
    const run = runMocksProcess({ MOCKS_HTTP_PORT: String(httpPort), MOCKS_SMTP_PORT: String(smtpPort) }, (output) =>
      output.includes('smtp provider listening'),
    );
    try {
      await run.seen;
      const lines = run.output().split('\n').filter((line) => line.startsWith('{'));
      const addresses = lines.map((line) => (JSON.parse(line) as { address?: string }).address).filter(Boolean);
      expect(addresses).toEqual([`127.0.0.1:${httpPort}`, `127.0.0.1:${smtpPort}`]);
      expect((await fetch(`http://127.0.0.1:${httpPort}/__faults`)).status, 'no token set: open on loopback').toBe(200);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  it('refuses to start beyond loopback without MOCKS_TOKEN, in one sentence saying what to set', async () => {
    const httpPort = await freePort();
    const run = runMocksProcess(
      { MOCKS_BIND: '0.0.0.0', MOCKS_HTTP_PORT: String(httpPort), MOCKS_SMTP_PORT: String(await freePort()) },
      (output) => output.includes('failed to start'),
    );
    await run.seen;
    expect(await run.exited).toBe(1);
    const refusal = JSON.parse(run.output().split('\n').find((line) => line.includes('failed to start')) ?? '{}') as { error?: string };
    expect(refusal.error).toMatch(/^MOCKS_BIND is 0\.0\.0\.0, beyond loopback, so set MOCKS_TOKEN \(at least 16 characters[^.]*\.$/);
    await expect(fetch(`http://127.0.0.1:${httpPort}/__health`)).rejects.toThrow();
  });

  it('refuses the same when started in-process, before opening any port', async () => {
    const httpPort = await freePort();
    await expect(startMockProviders({ httpPort, smtpPort: 0, host: '0.0.0.0' })).rejects.toThrow(/set MOCKS_TOKEN/);
    await expect(startMockProviders({ httpPort, smtpPort: 0, host: '0.0.0.0', token: '' })).rejects.toThrow(/set MOCKS_TOKEN/);
    await expect(fetch(`http://127.0.0.1:${httpPort}/__health`)).rejects.toThrow();
  });
});

describe('bound beyond loopback, with MOCKS_TOKEN', () => {
  let mocks: MockProviders;
  let base: string;
  const authorized = controlHeaders(TOKEN);
  const call = (method: string, path: string, body: string | undefined, headers: Record<string, string>) =>
    fetch(`${base}${path}`, { method, body, headers: { 'content-type': 'application/json', ...headers } });

  beforeAll(async () => {
    mocks = await startMockProviders({ httpPort: 0, smtpPort: 0, host: '0.0.0.0', token: TOKEN });
    base = `http://127.0.0.1:${mocks.httpPort}`;
  });
  afterAll(() => mocks.close());

  it('listens on every interface, HTTP and SMTP', () => {
    expect([mocks.httpAddress, mocks.smtpAddress]).toEqual(['0.0.0.0', '0.0.0.0']);
  });

  it('guards every control route but /__health', () => {
    const open = controlRoutes.filter((route) => !route.requiresToken).map((route) => route.path.source);
    expect(open).toEqual(['^\\/__health$']);
    expect(controlRoutes.length).toBeGreaterThan(open.length);
  });

  describe.each(REFUSED_CREDENTIALS)('with %s', (_name, headers) => {
    it.each(CONTROL_CALLS)('answers %s %s with a 401 JSON error', async (method, path, body) => {
      const response = await call(method, path, body, headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(await response.json()).toEqual({ error: expect.stringMatching(/MOCKS_TOKEN/) });
    });
  });

  it('changes nothing and reveals no record for a caller without the token, and everything for one with it', async () => {
    const contact = await fetch(`${base}/crm/contacts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'guarded-contact' },
      body: JSON.stringify({ email: 'ada@example.com', name: 'Ada', workspace: 'acme', externalId: 'user_1' }),
    });
    expect(contact.ok, 'the CRM takes a contact without the token').toBe(true);
    expect((await call('PUT', '/__faults/crm', JSON.stringify({ mode: 'slow', latencyMs: 1 }), authorized)).status).toBe(200);

    for (const [, headers] of REFUSED_CREDENTIALS) {
      for (const [method, path, body] of CONTROL_CALLS) {
        const refused = await call(method, path, body, headers);
        expect(refused.status, `${method} ${path}`).toBe(401);
        expect(await refused.text(), `${method} ${path}`).not.toContain('guarded-contact');
      }
    }

    const faults = (await (await call('GET', '/__faults', undefined, authorized)).json()) as Record<string, { mode: string }>;
    expect(faults.crm?.mode, 'the CRM fault as the token holder set it').toBe('slow');
    expect(faults.smtp?.mode, 'PUT /__faults/all refused').toBe('up');
    const records = (await (await call('GET', '/__inspect/crm', undefined, authorized)).json()) as Array<{ key: string }>;
    expect(records.map((record) => record.key), 'POST /__reset refused').toEqual(['guarded-contact']);

    expect((await call('POST', '/__reset', undefined, authorized)).status).toBe(200);
    expect(await (await call('GET', '/__inspect/crm', undefined, authorized)).json()).toEqual([]);
  });

  it('keeps /__health and the providers, HTTP and SMTP, open without the token', async () => {
    expect((await fetch(`${base}/__health`)).status).toBe(200);
    const upload = await fetch(`${base}/analytics/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'open-event' },
      body: JSON.stringify({ event: 'user_signed_up', eventId: 'open-event', userId: 'user_1' }),
    });
    expect(upload.status).toBeLessThan(300);
    const mailer = nodemailer.createTransport({ host: '127.0.0.1', port: mocks.smtpPort, secure: false, ignoreTLS: true });
    const sent = await mailer.sendMail({
      from: 'signup@example.com',
      to: 'ada@example.com',
      subject: 'Welcome',
      text: 'hello',
      messageId: '<open-smtp@signup.test>',
    });
    expect(sent.accepted).toEqual(['ada@example.com']);
    const inbox = (await (await call('GET', '/__inspect/smtp', undefined, authorized)).json()) as Array<{ key: string }>;
    expect(inbox.map((entry) => entry.key)).toContain('<open-smtp@signup.test>');
  });
});

describe('MOCKS_TOKEN from a file', () => {
  it('guards the control routes with the token read from MOCKS_TOKEN_FILE, as from a mounted secret', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mocks-token-'));
    const file = path.join(dir, 'mocks-token');
    writeFileSync(file, `${TOKEN}\n`);
    try {
      const { bind, token } = loadConfig({ MOCKS_BIND: '0.0.0.0', MOCKS_TOKEN_FILE: file }).mocks;
      expect(token).toBe(TOKEN);
      const mocks = await startMockProviders({ httpPort: 0, smtpPort: 0, host: bind, token });
      try {
        const faults = `http://127.0.0.1:${mocks.httpPort}/__faults`;
        expect((await fetch(faults)).status).toBe(401);
        expect((await fetch(faults, { headers: controlHeaders(TOKEN) })).status).toBe(200);
      } finally {
        await mocks.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bound to loopback, with MOCKS_TOKEN set', () => {
  it('still asks for the token: a configured token is never silently ignored', async () => {
    const mocks = await startMockProviders({ httpPort: 0, smtpPort: 0, token: TOKEN });
    try {
      expect(mocks.httpAddress).toBe('127.0.0.1');
      const faults = `http://127.0.0.1:${mocks.httpPort}/__faults`;
      expect((await fetch(faults)).status).toBe(401);
      expect((await fetch(faults, { headers: controlHeaders(TOKEN) })).status).toBe(200);
    } finally {
      await mocks.close();
    }
  });
});
