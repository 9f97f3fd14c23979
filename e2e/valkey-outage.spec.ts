// Valkey stopped while people sign up: the signup is saved with its jobs in the outbox and
// confirmed; the status page shows the jobs queued. Valkey comes back on the same port and data
// directory, the outbox relay dispatches the jobs, and they all complete.
import { E2E } from './support/e2e-environment';
import { expect, test } from './support/fixtures';
import { EFFECT_PROVIDERS, recordsFor } from './support/mock-providers';
import { expectEveryJob, signUpInForm, uniqueEmail } from './support/signup-flow';
import { isValkeyRunning, startValkey, stopValkey } from './support/valkey-server';

test.afterEach(async () => {
  // Whatever happened in the test, the rest of the suite needs its Valkey.
  if (!(await isValkeyRunning(E2E.valkey))) await startValkey(E2E.valkey);
});

test('signups made while Valkey is down are confirmed, and their jobs complete once it is back', async ({ page, request }) => {
  test.setTimeout(120_000);
  await stopValkey(E2E.valkey);
  const health = await request.get('/api/health');
  expect(health.status()).toBe(503);
  expect(await health.json()).toMatchObject({ valkey: 'down' });

  const user = await signUpInForm(page, { name: 'Hedy Lamarr', email: uniqueEmail('valkey-down') });
  test.info().annotations.push({ type: 'signup confirmed with Valkey down (ms)', description: String(user.confirmedInMs) });
  await expectEveryJob(page, 'queued');
  // A script's signup, through the API, at the same time.
  const viaApi = await request.post('/api/signups', { data: { name: 'Hedy Lamarr (API)', email: uniqueEmail('valkey-down-api') } });
  expect(viaApi.status()).toBe(201);
  const { id: apiUserId } = (await viaApi.json()) as { id: string };

  await startValkey(E2E.valkey);
  // The relay backs off up to 10 s while Valkey is down; then each job takes milliseconds.
  await expectEveryJob(page, 'done', { timeout: 60_000 });
  await expect(page.getByTestId('avatar')).toBeVisible();
  for (const userId of [user.id, apiUserId]) {
    for (const provider of EFFECT_PROVIDERS) {
      await expect
        .poll(async () => (await recordsFor(provider, userId)).map(({ deliveries }) => deliveries), { message: provider })
        .toEqual([1]);
    }
  }
});
