// The suite's `test`: each test starts with every provider up and nothing recorded, and leaves them
// up, so no test sees another's faults or deliveries. Specs import `test` and `expect` from here.
import { test as base } from '@playwright/test';
import { resetProviders, setFault } from './mock-providers';

export const test = base.extend<{ providersReset: undefined }>({
  providersReset: [
    // Playwright reads a fixture's dependencies from its first parameter, so it must be a pattern.
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      await resetProviders();
      await use(undefined);
      await setFault('all', { mode: 'up' });
    },
    { auto: true },
  ],
});

export { expect } from '@playwright/test';
