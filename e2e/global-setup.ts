// Before the suite: every provider answers normally, with nothing recorded from an earlier run.
import { E2E } from './e2e-environment';

export default async function globalSetup(): Promise<void> {
  const response = await fetch(`${E2E.mocksUrl}/__reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`resetting the mock providers failed: ${response.status}`);
}
