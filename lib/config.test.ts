import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminPasswordProblem,
  ConfigError,
  loadConfig,
  MIN_ADMIN_PASSWORD_LENGTH,
  MIN_SESSION_SECRET_LENGTH,
  webStartProblem,
} from '@/lib/config';

describe('adminPasswordProblem', () => {
  it('refuses a missing or short admin password, saying what to do', () => {
    expect(adminPasswordProblem(undefined)).toMatch(/ADMIN_PASSWORD is not set/);
    expect(adminPasswordProblem('x')).toMatch(/1 characters long; it must be at least 16/);
    expect(adminPasswordProblem('a'.repeat(MIN_ADMIN_PASSWORD_LENGTH - 1))).toMatch(/at least 16/);
  });

  it('accepts 16 characters or more, counted as characters, not bytes', () => {
    expect(MIN_ADMIN_PASSWORD_LENGTH).toBe(16);
    expect(adminPasswordProblem('a'.repeat(16))).toBeUndefined();
    expect(adminPasswordProblem('ü'.repeat(15))).toMatch(/15 characters long/);
  });
});

describe('SESSION_SECRET', () => {
  const production = (env: Record<string, string>) =>
    loadConfig({ NODE_ENV: 'production', ADMIN_PASSWORD: 'a production admin password', ...env });

  it('refuses a production web start without one, or with one under 32 characters, saying what to do', () => {
    expect(MIN_SESSION_SECRET_LENGTH).toBe(32);
    expect(webStartProblem(production({}))).toMatch(/^SESSION_SECRET is not set\..*openssl rand -base64 32/);
    expect(webStartProblem(production({ SESSION_SECRET: 's'.repeat(31) }))).toMatch(
      /^SESSION_SECRET is 31 characters long; it must be at least 32\./,
    );
    expect(webStartProblem(production({ SESSION_SECRET: 'a production admin password' }))).toMatch(/SESSION_SECRET is 27 characters long/);
    const samePassword = 'a production admin password, also used as the secret';
    expect(webStartProblem(production({ ADMIN_PASSWORD: samePassword, SESSION_SECRET: samePassword }))).toMatch(
      /^SESSION_SECRET is the same as ADMIN_PASSWORD/,
    );
    expect(webStartProblem(production({ SESSION_SECRET: 's'.repeat(32) }))).toBeUndefined();
  });

  it('names the admin password first when both are missing', () => {
    expect(webStartProblem(loadConfig({ NODE_ENV: 'production' }))).toMatch(/^ADMIN_PASSWORD is not set/);
  });

  it('outside production, stands in a random secret of this process, the same whatever the password', () => {
    const first = loadConfig({ NODE_ENV: 'development', ADMIN_PASSWORD: 'one password' }).admin.sessionSecret;
    const second = loadConfig({ NODE_ENV: 'test', ADMIN_PASSWORD: 'another password' }).admin.sessionSecret;
    expect(first).toMatch(/^[\w-]{43}$/);
    expect(second).toBe(first);
    expect(webStartProblem(loadConfig({ NODE_ENV: 'development' }))).toBeUndefined();
    expect(production({}).admin.sessionSecret, 'production never makes one up').toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'configured' }).admin.sessionSecret).toBe('configured');
  });
});

describe('secrets from files (*_FILE)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'config-secrets-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const secretFile = (name: string, content: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    return file;
  };

  it('reads ADMIN_PASSWORD, METRICS_TOKEN and SESSION_SECRET from their files, without the trailing newline', () => {
    const settings = loadConfig({
      ADMIN_PASSWORD_FILE: secretFile('admin-password', 'password from a file\n'),
      METRICS_TOKEN_FILE: secretFile('metrics-token', 'metrics-token-from-a-file\r\n'),
      SESSION_SECRET_FILE: secretFile('session-secret', 'session secret from a file, with its spaces \n\n'),
    });
    expect(settings.admin.password).toBe('password from a file');
    expect(settings.metrics.token).toBe('metrics-token-from-a-file');
    expect(settings.admin.sessionSecret).toBe('session secret from a file, with its spaces ');
  });

  it('lets the plain variable win when both are set', () => {
    const settings = loadConfig({ ADMIN_PASSWORD: 'from the variable', ADMIN_PASSWORD_FILE: secretFile('ignored', 'from the file') });
    expect(settings.admin.password).toBe('from the variable');
  });

  it('checks what a file holds as it checks the variable', () => {
    expect(() => loadConfig({ METRICS_TOKEN_FILE: secretFile('short-token', 'too short\n') })).toThrow(/METRICS_TOKEN: at least 16 characters/);
    const production = loadConfig({
      NODE_ENV: 'production',
      ADMIN_PASSWORD: 'a production admin password',
      SESSION_SECRET_FILE: secretFile('short-secret', `${'s'.repeat(31)}\n`),
    });
    expect(webStartProblem(production)).toMatch(/SESSION_SECRET is 31 characters long/);
  });

  it('refuses a file it cannot read, naming the variable and the path', () => {
    const missing = path.join(dir, 'no-such-file');
    expect(() => loadConfig({ SESSION_SECRET_FILE: missing })).toThrow(ConfigError);
    expect(() => loadConfig({ SESSION_SECRET_FILE: missing })).toThrow(`SESSION_SECRET_FILE: cannot read ${missing} (ENOENT)`);
    expect(() => loadConfig({ ADMIN_PASSWORD_FILE: dir })).toThrow(`ADMIN_PASSWORD_FILE: cannot read ${dir} (EISDIR)`);
  });
});
