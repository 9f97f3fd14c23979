// The providers' settings (lib/config.ts, lib/provider-endpoints.ts): defaults that still point at
// the mocks, SMTP_URL's forms, keys from files, and a child process that gets the same providers.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { childProcessEnv, ConfigError, loadConfig } from '@/lib/config';
import { apiKeyHeaders } from '@/lib/provider-endpoints';

const MOCKS = { MOCKS_HOST: 'mocks', MOCKS_HTTP_PORT: '4010', MOCKS_SMTP_PORT: '2525' };
const dir = mkdtempSync(join(tmpdir(), 'provider-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

function secretFile(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

describe('provider settings', () => {
  describe('when none is set', () => {
    it('point every provider at the mocks, on the paths the mocks serve, without keys', () => {
      const { providers, alerts } = loadConfig(MOCKS);
      expect(providers.crm).toEqual({ url: 'http://mocks:4010/crm' });
      expect(providers.storage).toEqual({ url: 'http://mocks:4010/storage' });
      expect(providers.analytics).toEqual({ url: 'http://mocks:4010/analytics' });
      expect(providers.smtp).toEqual({ host: 'mocks', port: 2525, secure: false, requireTls: false });
      expect(alerts.webhookKey).toBeUndefined();
    });

    it('follow MOCKS_TLS to https when the mocks serve TLS', () => {
      expect(loadConfig({ ...MOCKS, MOCKS_TLS: 'on' }).providers.crm.url).toBe('https://mocks:4010/crm');
    });
  });

  describe('SMTP_URL', () => {
    it('takes user and percent-encoded password, and then insists on STARTTLS', () => {
      const { smtp } = loadConfig({ SMTP_URL: 'smtp://apikey:p%40ss%2Fword@smtp.example.com' }).providers;
      expect(smtp).toEqual({ host: 'smtp.example.com', port: 587, secure: false, requireTls: true, auth: { user: 'apikey', pass: 'p@ss/word' } });
    });

    it('speaks TLS from the start with smtps://, on 465 unless told', () => {
      expect(loadConfig({ SMTP_URL: 'smtps://relay.example.com' }).providers.smtp).toEqual({
        host: 'relay.example.com',
        port: 465,
        secure: true,
        requireTls: false,
      });
    });

    it('requires STARTTLS without credentials when ?starttls=required says so', () => {
      expect(loadConfig({ SMTP_URL: 'smtp://relay.example.com:2587?starttls=required' }).providers.smtp).toMatchObject({
        port: 2587,
        requireTls: true,
      });
    });

    it('takes the password from SMTP_PASSWORD_FILE instead of the URL', () => {
      const file = secretFile('smtp_password', 'from-the-file\n');
      const { smtp } = loadConfig({ SMTP_URL: 'smtp://user@relay.example.com', SMTP_PASSWORD_FILE: file }).providers;
      expect(smtp.auth).toEqual({ user: 'user', pass: 'from-the-file' });
    });

    it.each([
      ['http://relay.example.com', 'expected smtp:// or smtps://'],
      ['smtp://relay.example.com?starttls=maybe', 'starttls may only be "required"'],
      ['smtp://:secret@relay.example.com', 'a password without a user'],
    ])('refuses %s', (url, message) => {
      expect(() => loadConfig({ SMTP_URL: url })).toThrow(ConfigError);
      expect(() => loadConfig({ SMTP_URL: url })).toThrow(`SMTP_URL: ${message}`);
    });
  });

  describe('HTTP providers', () => {
    it('take a base URL without its trailing slash, and a key with the header it goes in', () => {
      const { crm, storage } = loadConfig({
        CRM_URL: 'https://api.crm.example.com/v2/',
        CRM_API_KEY: 'crm-key',
        STORAGE_URL: 'https://storage.example.com',
        STORAGE_API_KEY_FILE: secretFile('storage_key', 'storage-key\n'),
        STORAGE_API_KEY_HEADER: 'X-Api-Key',
      }).providers;
      expect(crm).toEqual({ url: 'https://api.crm.example.com/v2', apiKey: { header: 'authorization', value: 'crm-key' } });
      expect(storage).toEqual({ url: 'https://storage.example.com', apiKey: { header: 'x-api-key', value: 'storage-key' } });
      expect(apiKeyHeaders(crm.apiKey)).toEqual({ authorization: 'Bearer crm-key' });
      expect(apiKeyHeaders(storage.apiKey)).toEqual({ 'x-api-key': 'storage-key' });
    });

    it('refuses a URL the adapters cannot speak', () => {
      expect(() => loadConfig({ ANALYTICS_URL: 'ftp://analytics.example.com' })).toThrow('ANALYTICS_URL: expected an http:// or https:// URL');
    });
  });

  describe('in a child process (childProcessEnv)', () => {
    it('reproduces every provider, keys and the SMTP password included', () => {
      vi.stubEnv('NODE_EXTRA_CA_CERTS', '/etc/ssl/private-ca.pem');
      const parent = loadConfig({
        ...MOCKS,
        SMTP_URL: 'smtps://user:secret@relay.example.com',
        STORAGE_URL: 'https://storage.example.com/bucket',
        STORAGE_API_KEY: 'storage-key',
        ALERT_WEBHOOK_URL: 'https://hooks.example.com/alerts',
        ALERT_WEBHOOK_API_KEY: 'hook-key',
        ALERT_WEBHOOK_API_KEY_HEADER: 'x-hook-key',
        EMAIL_API_URL: 'https://mail-api.example.com/v3',
        EMAIL_API_KEY: 'mail-key',
      });
      expect(parent.providers.emailApi).toEqual({ url: 'https://mail-api.example.com/v3', apiKey: { header: 'authorization', value: 'mail-key' } });
      const env = childProcessEnv(parent);
      const child = loadConfig(env);
      expect(child.providers).toEqual(parent.providers);
      expect(child.alerts).toEqual(parent.alerts);
      // A private CA must be trusted by the avatar sandbox too, which uploads to storage.
      expect(env.NODE_EXTRA_CA_CERTS).toBe('/etc/ssl/private-ca.pem');
    });

    it('leaves defaults to follow the mocks, so a caller that moves the mocks moves the providers', () => {
      const env = childProcessEnv(loadConfig(MOCKS));
      expect(env).not.toHaveProperty('CRM_URL');
      expect(env).not.toHaveProperty('SMTP_URL');
      expect(loadConfig({ ...env, MOCKS_HTTP_PORT: '5010' }).providers.storage.url).toBe('http://mocks:5010/storage');
    });
  });
});
