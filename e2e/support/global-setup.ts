// Before the suite: every provider answers normally, with nothing recorded from an earlier run.
// (Playwright starts the web server, and with it the mock providers, before global setup.)
import { resetProviders } from './mock-providers';

export default async function globalSetup(): Promise<void> {
  await resetProviders();
}
