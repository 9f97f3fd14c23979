// The certificate the mocks serve TLS with (MOCKS_TLS=on): self-signed, made at start with the
// openssl command, for the names clients dial. Made fresh each start, so no key is ever committed;
// clients trust it through NODE_EXTRA_CA_CERTS pointing at the copy written to MOCKS_TLS_CERT_FILE.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A day: the mocks restart far more often, and an expired leftover cannot be trusted by mistake. */
const VALID_DAYS = 1;

/** A key and a self-signed certificate for `names` (host names or IP addresses), in PEM. */
export async function selfSignedCertificate(names: readonly string[]): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mocks-tls-'));
  const san = [...new Set(names)].map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
  try {
    // P-256: every TLS client accepts it, and the key is made in milliseconds where RSA takes seconds.
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', String(VALID_DAYS), '-subj', '/CN=mock providers', '-addext', `subjectAltName=${san}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
    return { key: await readFile(join(dir, 'key.pem'), 'utf8'), cert: await readFile(join(dir, 'cert.pem'), 'utf8') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('MOCKS_TLS=on needs the openssl command to make the mocks\' certificate, and this machine has none: install openssl or leave MOCKS_TLS off.', { cause: error });
    }
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
