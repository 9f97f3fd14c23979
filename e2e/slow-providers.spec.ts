// Slow providers, with and without the queues: every provider takes 3 s to answer. The form's
// signup still lands on the status page, whose jobs finish a few seconds later; the synchronous
// baseline (POST /api/signups/sync) calls the four providers inside the request, so it answers only
// after their latency. Both timings are recorded in the report; only the baseline's, its defining
// behaviour, is asserted. With only the CRM and storage slow, the status page shows the jobs that
// are done beside the ones still running, and fills in the rest by itself (the README's picture of
// it is taken there).
import { expect, test } from './support/fixtures';
import { setFault } from './support/mock-providers';
import { readmeScreenshot } from './support/readme-screenshot';
import { expectEveryJob, jobRow, signUpInForm, uniqueEmail } from './support/signup-flow';

const PROVIDER_LATENCY_MS = 3_000;

test('slow providers slow the synchronous baseline, not the signup form', async ({ page, request }) => {
  test.setTimeout(90_000);
  await setFault('all', { mode: 'slow', latencyMs: PROVIDER_LATENCY_MS });

  const user = await signUpInForm(page, { name: 'Mary Jackson', email: uniqueEmail('slow-form') });
  await expectEveryJob(page, 'done', { timeout: 30_000 });

  const startedAt = Date.now();
  const sync = await request.post('/api/signups/sync', {
    data: { name: 'Mary Jackson (sync)', email: uniqueEmail('slow-sync') },
    timeout: 60_000,
  });
  const syncMs = Date.now() - startedAt;
  expect(sync.status()).toBe(201);

  const timings = { providerLatencyMs: PROVIDER_LATENCY_MS, formConfirmedMs: user.confirmedInMs, syncBaselineMs: syncMs };
  test.info().annotations.push(
    { type: 'form: click to status page (ms)', description: String(user.confirmedInMs) },
    { type: 'POST /api/signups/sync (ms)', description: String(syncMs) },
  );
  await test.info().attach('timings.json', { body: JSON.stringify(timings, null, 2), contentType: 'application/json' });

  expect(syncMs).toBeGreaterThan(PROVIDER_LATENCY_MS);
});

test('the status page shows finished jobs beside running ones, and fills in the rest by itself', async ({ page }) => {
  // Long enough to see both running, under the 10 s provider timeout so each succeeds at once.
  const latencyMs = 8_000;
  await setFault('crm', { mode: 'slow', latencyMs });
  await setFault('storage', { mode: 'slow', latencyMs });

  await signUpInForm(page, { name: 'Grace Hopper', email: uniqueEmail('filling-in'), workspace: 'navy' });
  await expect(jobRow(page, 'send-welcome-email')).toHaveAttribute('data-state', 'done');
  await expect(jobRow(page, 'track-signup-event')).toHaveAttribute('data-state', 'done');
  await expect(jobRow(page, 'sync-crm-contact')).toHaveAttribute('data-state', 'running');
  await expect(jobRow(page, 'generate-avatar')).toHaveAttribute('data-state', 'running');
  await expect(page.getByTestId('avatar')).toHaveCount(0);
  await readmeScreenshot(page, 'status-filling-in');

  // No reload: the page's own polling brings the rest.
  await expectEveryJob(page, 'done', { timeout: 30_000 });
  await expect(page.getByTestId('avatar')).toBeVisible();
});
