// Email through an HTTP API (EMAIL_API_URL) instead of SMTP, against the mock providers' email
// route over a real socket: the Message-ID travels as the Idempotency-Key, so a resend after a
// crash between the API's accept and our record is one email, which SMTP cannot promise.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@/lib/config';
import { startMockProviders, type MockProviders } from '@/infra/mock-providers/start-mock-providers';
import type { InspectEntry } from '@/infra/mock-providers/provider-records';
import { createMailer, sendMail, type Mailer } from '@/workers/providers/mailer';

const API_KEY = 'email-api-key-for-this-test';
let mocks: MockProviders;
let base: string;

beforeAll(async () => {
  mocks = await startMockProviders({ httpPort: 0, smtpPort: 0, apiKey: API_KEY });
  base = `http://127.0.0.1:${mocks.httpPort}`;
});
afterAll(() => mocks.close());
beforeEach(async () => {
  expect((await fetch(`${base}/__reset`, { method: 'POST' })).status).toBe(200);
});

function mailerWith(env: Record<string, string>): Mailer {
  // SMTP points where nothing listens: a message that arrives came over the API.
  return createMailer(loadConfig({ SMTP_URL: 'smtp://127.0.0.1:1', PROVIDER_TIMEOUT_MS: '2000', ...env }).providers);
}

const message = (messageId: string) => ({
  from: 'Signup Demo <hello@signup.example>',
  to: 'ada@example.com',
  subject: 'Welcome!',
  text: 'Hi Ada',
  html: '<p>Hi Ada</p>',
  messageId,
});

async function inbox(): Promise<InspectEntry[]> {
  return (await (await fetch(`${base}/__inspect/smtp`)).json()) as InspectEntry[];
}

describe('email over an HTTP API (EMAIL_API_URL)', () => {
  describe('when the API accepts the key', () => {
    it('delivers the message once however often it is sent, keyed by its Message-ID', async () => {
      const mailer = mailerWith({ EMAIL_API_URL: `${base}/email`, EMAIL_API_KEY: API_KEY });
      const messageId = `<send-welcome-email.${randomUUID()}@signup.example>`;
      await sendMail(mailer, message(messageId));
      await sendMail(mailer, message(messageId));
      expect(await inbox()).toEqual([
        expect.objectContaining({
          key: messageId,
          deliveries: 2,
          body: { from: 'Signup Demo <hello@signup.example>', to: ['ada@example.com'], subject: 'Welcome!', text: 'Hi Ada', html: '<p>Hi Ada</p>' },
        }),
      ]);
    });
  });

  describe('when the key is refused', () => {
    it('fails as permanent, naming EMAIL_API_KEY, and nothing is delivered', async () => {
      const mailer = mailerWith({ EMAIL_API_URL: `${base}/email`, EMAIL_API_KEY: 'wrong', EMAIL_API_KEY_HEADER: 'x-api-key' });
      const failure: unknown = await sendMail(mailer, message(`<${randomUUID()}@signup.example>`)).catch((error: unknown) => error);
      expect(failure).toMatchObject({ name: 'PermanentProviderError' });
      expect((failure as Error).message).toContain('answered 401');
      expect((failure as Error).message).toContain('check EMAIL_API_KEY');
      expect(await inbox()).toEqual([]);
    });
  });

  describe('when the API is down or rejects the message', () => {
    it('maps 503 to transient and 422 to permanent, as for every HTTP provider', async () => {
      const mailer = mailerWith({ EMAIL_API_URL: `${base}/email`, EMAIL_API_KEY: API_KEY });
      const fault = (mode: string) => fetch(`${base}/__faults/smtp`, { method: 'PUT', body: JSON.stringify({ mode }) });
      await fault('down');
      await expect(sendMail(mailer, message(`<${randomUUID()}@signup.example>`))).rejects.toMatchObject({ name: 'TransientProviderError' });
      await fault('reject');
      await expect(sendMail(mailer, message(`<${randomUUID()}@signup.example>`))).rejects.toMatchObject({ name: 'PermanentProviderError' });
    });
  });
});
