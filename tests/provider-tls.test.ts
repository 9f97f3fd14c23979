// The providers over TLS and with credentials, against the mock providers serving real HTTPS,
// STARTTLS and SMTPS with real certificates made here by openssl, and requiring an API key and
// SMTP AUTH. The calls run in a child process (helpers/provider-call-process.ts), because
// NODE_EXTRA_CA_CERTS, the way an operator trusts a private CA, is read only at Node's start.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '@/infra/mock-providers/self-signed-certificate';
import { startMockProviders, type MockProviders } from '@/infra/mock-providers/start-mock-providers';
import { callProvidersInProcess, type ProviderCallResult } from '@/tests/helpers/provider-call-process';

const API_KEY = 'test-provider-api-key-0123456789';
const SMTP_USER = 'relay-user';
const SMTP_PASSWORD = 'relay password/with:specials';

let dir: string;
let caFile: string;
/** TLS with a certificate from a private CA, an API key and SMTP AUTH required. */
let privateCa: MockProviders;
/** TLS with a self-signed certificate, no credentials. */
let selfSigned: MockProviders;
/** The demo's mocks: plain HTTP and SMTP without STARTTLS. */
let plain: MockProviders;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A private CA, and a certificate it signed for 127.0.0.1 and localhost. */
function makePrivateCa(): { key: string; cert: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=test private CA', '-keyout', 'ca-key.pem', '-out', 'ca.pem');
  openssl('req', ...ec, '-subj', '/CN=localhost', '-keyout', 'key.pem', '-out', 'leaf.csr');
  writeFileSync(join(dir, 'leaf.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-extfile', 'leaf.ext', '-out', 'cert.pem');
  return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'provider-tls-'));
  caFile = join(dir, 'ca.pem');
  const leaf = makePrivateCa();
  privateCa = await startMockProviders({
    httpPort: 0,
    smtpPort: 0,
    tls: { ...leaf, smtpsPort: 0 },
    smtpAuth: { user: SMTP_USER, password: SMTP_PASSWORD },
    apiKey: API_KEY,
  });
  selfSigned = await startMockProviders({
    httpPort: 0,
    smtpPort: 0,
    tls: { ...(await selfSignedCertificate(['127.0.0.1', 'localhost'])), smtpsPort: 0 },
  });
  plain = await startMockProviders({ httpPort: 0, smtpPort: 0 });
});

afterAll(async () => {
  await Promise.all([privateCa?.close(), selfSigned?.close(), plain?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const crmUrl = (mocks: MockProviders, host = '127.0.0.1') => `https://${host}:${mocks.httpPort}/crm`;
const credentials = `${SMTP_USER}:${encodeURIComponent(SMTP_PASSWORD)}`;

function expectPermanent(result: ProviderCallResult | undefined, ...fragments: string[]): void {
  expect(result).toMatchObject({ ok: false, name: 'PermanentProviderError', kind: 'permanent' });
  for (const fragment of fragments) expect(result?.ok === false && result.message).toContain(fragment);
}

describe('providers over TLS with credentials', () => {
  describe('when the provider\'s CA is added with NODE_EXTRA_CA_CERTS', () => {
    let results: ProviderCallResult[];
    beforeAll(async () => {
      results = await callProvidersInProcess(
        [
          { kind: 'crm', env: { CRM_URL: crmUrl(privateCa), CRM_API_KEY: API_KEY } },
          { kind: 'crm', env: { CRM_URL: crmUrl(privateCa, 'localhost'), CRM_API_KEY: API_KEY, CRM_API_KEY_HEADER: 'X-Api-Key' } },
          { kind: 'crm', env: { CRM_URL: crmUrl(privateCa), CRM_API_KEY: 'not-the-key' } },
          { kind: 'crm', env: { CRM_URL: crmUrl(privateCa) } },
          { kind: 'smtp', env: { SMTP_URL: `smtp://${credentials}@localhost:${privateCa.smtpPort}` } },
          { kind: 'smtp', env: { SMTP_URL: `smtps://${credentials}@127.0.0.1:${privateCa.smtpsPort}` } },
          { kind: 'smtp', env: { SMTP_URL: `smtp://${SMTP_USER}@127.0.0.1:${privateCa.smtpPort}`, SMTP_PASSWORD: 'wrong' } },
          { kind: 'crm', env: { CRM_URL: crmUrl(selfSigned) } },
          { kind: 'smtp', env: { SMTP_URL: `smtp://127.0.0.1:${selfSigned.smtpPort}` } },
          { kind: 'smtp', env: { SMTP_URL: `smtp://127.0.0.1:${plain.smtpPort}?starttls=required` } },
        ],
        { NODE_EXTRA_CA_CERTS: caFile },
      );
    }, 60_000);

    it('calls an HTTPS provider with the API key as a bearer token', () => {
      expect(results[0]).toMatchObject({ ok: true, value: { id: expect.stringMatching(/^crm_/) } });
    });

    it('sends the key in the header CRM_API_KEY_HEADER names', () => {
      expect(results[1]).toMatchObject({ ok: true, value: { id: expect.stringMatching(/^crm_/) } });
    });

    it('treats a refused key (401) as permanent, naming the variable to fix', () => {
      expectPermanent(results[2], 'answered 401', 'check CRM_API_KEY');
      expectPermanent(results[3], 'answered 401', 'check CRM_API_KEY');
    });

    it('sends mail over STARTTLS with SMTP AUTH, the password percent-encoded in SMTP_URL', () => {
      expect(results[4]).toEqual({ ok: true, value: { sent: true } });
    });

    it('sends mail over SMTPS with SMTP AUTH', () => {
      expect(results[5]).toEqual({ ok: true, value: { sent: true } });
    });

    it('treats a refused SMTP password (535) as permanent, naming SMTP_PASSWORD', () => {
      expectPermanent(results[6], '535', 'check SMTP_PASSWORD');
    });

    it('still refuses a self-signed certificate that no CA vouches for, over HTTPS and STARTTLS', () => {
      expectPermanent(results[7], `the TLS certificate of 127.0.0.1 is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT); add its CA with NODE_EXTRA_CA_CERTS or fix CRM_URL`);
      expectPermanent(results[8], 'the TLS certificate of 127.0.0.1 is not trusted', 'fix SMTP_URL');
    });

    it('refuses to send in clear when SMTP_URL requires STARTTLS and the server does not offer it', () => {
      expectPermanent(results[9], 'does not offer STARTTLS', 'SMTP_URL');
    });
  });

  describe('when the provider\'s CA is not trusted', () => {
    let results: ProviderCallResult[];
    beforeAll(async () => {
      results = await callProvidersInProcess([
        { kind: 'crm', env: { CRM_URL: crmUrl(privateCa), CRM_API_KEY: API_KEY } },
        { kind: 'smtp', env: { SMTP_URL: `smtps://${credentials}@127.0.0.1:${privateCa.smtpsPort}` } },
      ]);
    }, 60_000);

    it('refuses the HTTPS call as a permanent configuration error with the fix in its message', () => {
      expectPermanent(
        results[0],
        'crm: the TLS certificate of 127.0.0.1 is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE); add its CA with NODE_EXTRA_CA_CERTS or fix CRM_URL',
      );
    });

    it('refuses SMTPS the same way, before any credentials are sent', () => {
      expectPermanent(results[1], 'smtp: the TLS certificate of 127.0.0.1 is not trusted', 'NODE_EXTRA_CA_CERTS', 'fix SMTP_URL');
    });
  });
});
