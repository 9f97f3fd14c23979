// Provider outages as the user sees them: the signup is confirmed at once, the status page shows
// the jobs retrying, and once the providers are back every job completes with one effect.
import { waitForQuietBreakers } from './support/admin-console';
import { expect, test } from './support/fixtures';
import { EFFECT_PROVIDERS, recordsFor, setFault } from './support/mock-providers';
import { expectEveryJob, jobRow, SIGNUP_JOBS, signUpInForm, uniqueEmail } from './support/signup-flow';

test.beforeEach(async ({ request }) => {
  // A breaker already open would hold the jobs back before they fail: the page would show them
  // queued, never retrying.
  await waitForQuietBreakers(request);
});

test('a CRM outage delays the CRM contact, not the signup', async ({ page }) => {
  await setFault('crm', { mode: 'down' });
  const user = await signUpInForm(page, { name: 'Katherine Johnson', email: uniqueEmail('crm-down') });

  const crm = jobRow(page, 'sync-crm-contact');
  await expect(crm).toHaveAttribute('data-state', 'retrying');
  await expect(crm).toContainText(/attempt \d+ of \d+/);
  await expect(jobRow(page, 'send-welcome-email')).toHaveAttribute('data-state', 'done');

  await setFault('crm', { mode: 'up' });
  await expect(crm).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  const contacts = await recordsFor('crm', user.id);
  expect(contacts).toHaveLength(1);
  expect(contacts[0]?.deliveries).toBe(1);
  expect(contacts[0]?.failures).toBeGreaterThanOrEqual(1);
});

test('with every provider down, the signup is still confirmed and each job completes once they are back', async ({ page }) => {
  test.setTimeout(120_000);
  await setFault('all', { mode: 'down' });

  const user = await signUpInForm(page, { name: 'Dorothy Vaughan', email: uniqueEmail('all-down') });
  test.info().annotations.push({ type: 'signup confirmed (ms), every provider down', description: String(user.confirmedInMs) });

  // Each job has failed at least once and waits for its next attempt; none has given up.
  for (const job of SIGNUP_JOBS) {
    await expect(jobRow(page, job), job).toHaveAttribute('data-state', 'retrying');
  }
  await expect(page.getByTestId('avatar')).toHaveCount(0);

  await setFault('all', { mode: 'up' });
  // The longest wait left is one backoff step of the queue that retries slowest (analytics: up to
  // 5 s, then 10 s, 20 s).
  await expectEveryJob(page, 'done', { timeout: 60_000 });
  await expect(page.getByTestId('avatar')).toBeVisible();

  for (const provider of EFFECT_PROVIDERS) {
    const records = await recordsFor(provider, user.id);
    expect(records, provider).toHaveLength(1);
    expect(records[0]?.deliveries, `${provider}: applied once`).toBe(1);
    expect(records[0]?.failures, `${provider}: refused while down`).toBeGreaterThanOrEqual(1);
  }
});
