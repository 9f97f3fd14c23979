// Entry point of `npm run mocks`: the mock third-party providers on the address and ports the
// configuration names (MOCKS_BIND, loopback by default), until SIGTERM or SIGINT. `npm start` runs
// it as one of the stack's child processes; compose binds it to its network, with MOCKS_TOKEN.
// MOCKS_TLS, MOCKS_SMTP_USER and MOCKS_API_KEY make them a provider that wants TLS and credentials.
import { writeFile } from 'node:fs/promises';
import { config } from '@/lib/config';
import { createLogger, errorSummary } from '@/lib/log';
import { selfSignedCertificate } from './self-signed-certificate';
import { startMockProviders } from './start-mock-providers';

// The stack's supervisor gives each child a few seconds; finishing well inside that keeps a
// stuck mock from turning a clean Ctrl-C into a SIGKILL.
const SHUTDOWN_DEADLINE_MS = 2_000;

const log = createLogger('mocks');

async function main(): Promise<void> {
  // MOCKS_HOST is where clients look for the mocks; MOCKS_BIND is where they listen.
  const { host, bind, httpPort, smtpPort, token, tls, smtpAuth, apiKey } = config().mocks;
  let certificate: { key: string; cert: string } | undefined;
  if (tls) {
    certificate = await selfSignedCertificate([host, bind, 'localhost', '127.0.0.1']);
    await writeFile(tls.certFile, certificate.cert);
    log.info('tls certificate made; trust it with NODE_EXTRA_CA_CERTS', { file: tls.certFile });
  }
  const mocks = await startMockProviders({
    httpPort,
    smtpPort,
    host: bind,
    token,
    ...(tls && certificate ? { tls: { ...certificate, smtpsPort: tls.smtpsPort } } : {}),
    smtpAuth,
    apiKey,
  });
  log.info('http providers listening', {
    providers: 'crm,storage,analytics,alerts',
    address: `${mocks.httpAddress}:${mocks.httpPort}`,
    scheme: tls ? 'https' : 'http',
    controlRoutes: token ? 'bearer token required' : 'open (no MOCKS_TOKEN)',
    providerRoutes: apiKey ? 'MOCKS_API_KEY required' : 'open',
  });
  log.info('smtp provider listening', {
    address: `${mocks.smtpAddress}:${mocks.smtpPort}`,
    ...(mocks.smtpsPort ? { smtps: `${mocks.smtpAddress}:${mocks.smtpsPort}`, starttls: 'offered' } : {}),
    auth: smtpAuth ? 'required' : 'none',
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const deadline = setTimeout(() => {
      log.warn('still closing; exiting anyway', { deadlineMs: SHUTDOWN_DEADLINE_MS });
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    mocks.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  log.error('failed to start', { error: errorSummary(error) });
  process.exit(1);
});
