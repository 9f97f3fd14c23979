// The compose stack's `secrets` service on its own, into a real folder: the first start makes every
// secret and prints the admin login once; later starts keep them and print no password; .env
// overrides them; a value the web would refuse is refused here first, and nothing is written.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { initSecrets, SECRETS, SecretsError } from '@/scripts/init-secrets';

const volume = () => mkdtempSync(path.join(tmpdir(), 'init-secrets-'));
const read = (directory: string, file: string) => readFileSync(path.join(directory, file), 'utf8').trimEnd();

describe('init-secrets', () => {
  it('makes every secret on the first start, long enough for the web, readable by every service, and prints the login once', async () => {
    const directory = volume();
    const first = await initSecrets(directory, {});
    expect(Object.values(first.sources)).toEqual(['generated', 'generated', 'generated', 'generated']);
    expect(readdirSync(directory).sort()).toEqual(SECRETS.map((secret) => secret.file).sort());
    expect(read(directory, 'admin_password').length).toBeGreaterThanOrEqual(16);
    expect(read(directory, 'session_secret').length).toBeGreaterThanOrEqual(32);
    expect(read(directory, 'metrics_token')).not.toBe(read(directory, 'mocks_token'));
    for (const secret of SECRETS) expect(statSync(path.join(directory, secret.file)).mode & 0o777, secret.file).toBe(0o444);
    expect(first.lines.join('\n')).toContain(`password: ${read(directory, 'admin_password')}`);

    const before = SECRETS.map((secret) => read(directory, secret.file));
    const second = await initSecrets(directory, {});
    expect(Object.values(second.sources)).toEqual(['kept', 'kept', 'kept', 'kept']);
    expect(SECRETS.map((secret) => read(directory, secret.file))).toEqual(before);
    expect(second.lines.join('\n')).not.toContain(before[0]);
  });

  it('takes a value from .env over the one in the volume, and keeps the rest', async () => {
    const directory = volume();
    await initSecrets(directory, {});
    const session = read(directory, 'session_secret');
    const result = await initSecrets(directory, { METRICS_TOKEN: 'metrics-token-from-dot-env', ADMIN_PASSWORD: '' });
    expect(result.sources).toMatchObject({ METRICS_TOKEN: 'env', ADMIN_PASSWORD: 'kept', SESSION_SECRET: 'kept' });
    expect(read(directory, 'metrics_token')).toBe('metrics-token-from-dot-env');
    expect(read(directory, 'session_secret')).toBe(session);
  });

  it('refuses a password or session secret from .env that the web would refuse, and writes nothing', async () => {
    const directory = volume();
    await expect(initSecrets(directory, { ADMIN_PASSWORD: 'short' })).rejects.toThrow(SecretsError);
    await expect(initSecrets(directory, { SESSION_SECRET: 'x'.repeat(31) })).rejects.toThrow(/SESSION_SECRET/);
    expect(readdirSync(directory)).toEqual([]);
  });

  it('runs as the script compose starts: prints the login, exits 0; a bad value exits 1 with the reason', async () => {
    const script = fileURLToPath(new URL('./init-secrets.ts', import.meta.url));
    const run = (directory: string, env: Record<string, string>) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', script, directory], { env: { PATH: process.env.PATH, NODE_ENV: 'production', ...env } }).then(
        ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
    const directory = volume();
    const ok = await run(directory, {});
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('user:     admin');
    const refused = await run(volume(), { ADMIN_PASSWORD: 'short' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^secrets: the value in \.env cannot be used: ADMIN_PASSWORD is 5 characters long/);
  });
});
