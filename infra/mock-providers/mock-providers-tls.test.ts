// The mocks as a provider that wants TLS and credentials (MOCKS_TLS, MOCKS_API_KEY,
// MOCKS_SMTP_USER), over real sockets. The workers' side of the same servers is tested in
// tests/provider-tls.test.ts.
import { request } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { selfSignedCertificate } from './self-signed-certificate';
import { startMockProviders, type MockProviders } from './start-mock-providers';

const API_KEY = 'mocks-api-key-for-this-test';
let certificate: { key: string; cert: string };
let mocks: MockProviders;

beforeAll(async () => {
  certificate = await selfSignedCertificate(['127.0.0.1']);
  mocks = await startMockProviders({ httpPort: 0, smtpPort: 0, tls: { ...certificate, smtpsPort: 0 }, apiKey: API_KEY });
});

afterAll(() => mocks.close());
afterEach(() => vi.unstubAllEnvs());

/** One HTTPS exchange that trusts the mocks' certificate, as NODE_EXTRA_CA_CERTS would. */
function exchange(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: mocks.httpPort, method, path, headers, ca: certificate.cert }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('mock providers with MOCKS_TLS and MOCKS_API_KEY', () => {
  it('serve avatars over HTTPS with https URLs, and only to the key\'s holder', async () => {
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const put = await exchange('PUT', '/storage/avatars/ada.png', { 'content-type': 'image/png', 'idempotency-key': 'k1', authorization: `Bearer ${API_KEY}` }, png);
    expect(put.status).toBe(201);
    expect(JSON.parse(put.text)).toEqual({ url: `https://127.0.0.1:${mocks.httpPort}/storage/avatars/ada.png` });
    expect((await exchange('GET', '/storage/avatars/ada.png', {})).status).toBe(401);
    expect((await exchange('GET', '/storage/avatars/ada.png', { 'x-api-key': 'wrong' })).status).toBe(401);
    expect((await exchange('GET', '/storage/avatars/ada.png', { 'x-api-key': API_KEY })).status).toBe(200);
  });

  it('keep /__health open to probes', async () => {
    expect((await exchange('GET', '/__health', {})).status).toBe(200);
  });
});

describe('mock providers refuse half-working TLS', () => {
  it('refuse SMTP credentials without TLS, which would cross the network in clear', async () => {
    await expect(startMockProviders({ httpPort: 0, smtpPort: 0, smtpAuth: { user: 'u', password: 'p' } })).rejects.toThrow(
      'MOCKS_SMTP_USER needs MOCKS_TLS=on',
    );
  });

  it('refuse MOCKS_TLS in one sentence where the openssl command is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-openssl-'));
    try {
      vi.stubEnv('PATH', empty);
      await expect(selfSignedCertificate(['127.0.0.1'])).rejects.toThrow('MOCKS_TLS=on needs the openssl command');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
