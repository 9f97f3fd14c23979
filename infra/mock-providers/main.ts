// Entry point of `npm run mocks`: the mock third-party providers on the ports the configuration
// names, until SIGTERM or SIGINT. `npm start` runs it as one of the stack's child processes.
import { config } from '@/lib/config';
import { createLogger } from '@/lib/log';
import { startMockProviders } from './start-mock-providers';

// Every interface, so the workers reach the mocks from a container as well as from this host;
// MOCKS_HOST is where clients look for them, not where they bind.
const BIND_HOST = '0.0.0.0';
// The stack's supervisor gives each child a few seconds; finishing well inside that keeps a
// stuck mock from turning a clean Ctrl-C into a SIGKILL.
const SHUTDOWN_DEADLINE_MS = 2_000;

const log = createLogger('mocks');

async function main(): Promise<void> {
  const { httpPort, smtpPort } = config().mocks;
  const mocks = await startMockProviders({ httpPort, smtpPort, host: BIND_HOST });
  log.info('http providers listening', { providers: 'crm,storage,analytics,alerts', address: `${BIND_HOST}:${mocks.httpPort}` });
  log.info('smtp provider listening', { address: `${BIND_HOST}:${mocks.smtpPort}` });

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
  log.error('failed to start', { error: String(error) });
  process.exit(1);
});
