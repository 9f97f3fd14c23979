// Before the suite: every provider answers normally, with nothing recorded from an earlier run.
// (Playwright starts the web server, and with it the mock providers, before global setup.)
// Playwright waits only for the web's /api/health, and the mocks can start listening seconds after
// the web on a busy machine, so the reset is retried until they answer.
import { resetProviders } from './mock-providers';

/** The mocks' start-up, on a loaded two-core machine, with room to spare. */
const MOCKS_START_DEADLINE_MS = 30_000;
const RETRY_EVERY_MS = 250;

export default async function globalSetup(): Promise<void> {
  const deadline = Date.now() + MOCKS_START_DEADLINE_MS;
  for (;;) {
    try {
      await resetProviders();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error('the mock providers did not answer within 30 s', { cause: error });
      await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
    }
  }
}
