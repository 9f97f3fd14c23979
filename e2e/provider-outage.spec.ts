// A provider outage as the user sees it: the signup is confirmed at once, the status page shows
// the job retrying, and once the provider is back the job completes with one effect.
import { expect, test } from '@playwright/test';
import { inspect, setFault } from './mock-providers';

test.afterEach(async () => {
  await setFault('crm', { mode: 'up' });
});

test('a CRM outage delays the CRM contact, not the signup', async ({ page }) => {
  await setFault('crm', { mode: 'down' });
  const email = `outage-${Date.now().toString(36)}@example.test`;

  await page.goto('/');
  await page.getByLabel('Name').fill('Katherine Johnson');
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/welcome\//);

  const crm = page.getByTestId('job-sync-crm-contact');
  await expect(crm).toHaveAttribute('data-state', 'retrying');
  await expect(crm).toContainText(/attempt \d+ of \d+/);
  await expect(page.getByTestId('job-send-welcome-email')).toHaveAttribute('data-state', 'done');

  await setFault('crm', { mode: 'up' });
  await expect(crm).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  const contacts = (await inspect('crm')).filter((record) => (record.body as { email?: string }).email === email);
  expect(contacts).toHaveLength(1);
  expect(contacts[0]?.deliveries).toBe(1);
  expect(contacts[0]?.failures).toBeGreaterThanOrEqual(1);
});
