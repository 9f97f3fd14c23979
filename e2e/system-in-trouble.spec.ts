// The system in trouble, as each of its pages shows it: the CRM refuses one contact for good (a
// dead letter), then goes down. The new user's status page shows the CRM job retrying with its
// error; enough failed calls open the CRM breaker, which the health page shows beside the dead
// letter; the dead-letter view and bull-board list the CRM's jobs. Each picture is asserted before
// it is taken for the README, and every fault is lifted at the end.
import type { APIRequestContext } from '@playwright/test';
import { ADMIN_HEADERS, adminPage, deadLettersOfJob, waitForQuietBreakers } from './support/admin-console';
import { expect, test } from './support/fixtures';
import { setFault } from './support/mock-providers';
import { readmeScreenshot } from './support/readme-screenshot';
import { jobRow, signUpInForm, uniqueEmail } from './support/signup-flow';

/**
 * With the form's user, enough CRM jobs that their retries reach the breaker's minimum of 10 calls
 * in its 30 s window within seconds, as in admin.spec.ts.
 */
const MORE_USERS = 4;

test('with the CRM refusing and then down, the status page, health page, dead letters and bull-board show it', async ({
  page,
  browser,
  request,
}) => {
  test.setTimeout(180_000);
  // A breaker already open would hold the jobs back before they fail: the status page would show
  // the CRM job queued, never retrying.
  await waitForQuietBreakers(request);
  const crmJobIds: string[] = [];

  try {
    let refusedJobId = '';
    await test.step('the CRM refuses a contact for good, which becomes a dead letter at once', async () => {
      await setFault('crm', { mode: 'reject' });
      refusedJobId = `sync-crm-contact-${await signUp(request, 'trouble-refused')}`;
      crmJobIds.push(refusedJobId);
      await expect
        .poll(async () => (await deadLettersOfJob(request, 'crm', refusedJobId)).map((letter) => letter.lastError), { timeout: 30_000 })
        .toEqual([expect.stringContaining('422')]);
    });

    await test.step("with the CRM down, the new user's status page shows the CRM job retrying, with its error", async () => {
      await setFault('crm', { mode: 'down' });
      const user = await signUpInForm(page, { name: 'Katherine Johnson', email: uniqueEmail('trouble-crm-down'), workspace: 'langley' });
      crmJobIds.push(`sync-crm-contact-${user.id}`);
      const crm = jobRow(page, 'sync-crm-contact');
      await expect(crm).toHaveAttribute('data-state', 'retrying');
      await expect(crm).toContainText(/Retrying, attempt \d+ of \d+/);
      await expect(crm).toContainText(/Last attempt: .*503/);
      for (const job of ['send-welcome-email', 'generate-avatar', 'track-signup-event'] as const) {
        await expect(jobRow(page, job), job).toHaveAttribute('data-state', 'done');
      }
      await expect(page.getByTestId('avatar')).toBeVisible();
      await readmeScreenshot(page, 'status-crm-down');
    });

    const admin = await adminPage(browser);
    await test.step('more signups open the CRM breaker; the health page shows it open beside the dead letter', async () => {
      for (let i = 0; i < MORE_USERS; i++) crmJobIds.push(`sync-crm-contact-${await signUp(request, `trouble-${i}`)}`);
      const crmQueue = admin.getByTestId('queue-crm');
      await expect(crmQueue).toHaveAttribute('data-breaker', 'open', { timeout: 30_000 });
      await expect(crmQueue.getByText('breaker open', { exact: true })).toBeVisible();
      await expect(admin.getByTestId('verdict')).toHaveAttribute('data-verdict', 'degraded');
      await expect(admin.getByTestId('verdict-reasons')).toContainText('crm: circuit breaker');
      const deadLetters = Number(await crmQueue.getByRole('link', { name: /^\d+$/ }).textContent());
      expect(deadLetters, 'dead letters waiting in the CRM queue').toBeGreaterThan(0);
      // Only the CRM's breaker: the other providers answer.
      await expect(admin.getByTestId('queue-email')).toHaveAttribute('data-breaker', 'closed');
      await readmeScreenshot(admin, 'admin-health');
    });

    await test.step('the dead-letter view lists the refused contact with its 422', async () => {
      await admin.goto('/admin/dead-letters?queue=crm');
      const row = admin.locator('[data-testid^="dead-letter-"][data-resolution="unresolved"]', { hasText: refusedJobId });
      await expect(row).toBeVisible();
      await expect(row).toContainText('answered 422');
      await readmeScreenshot(admin, 'admin-dead-letters');
    });

    await test.step("bull-board lists this spec's CRM jobs, newest first", async () => {
      await admin.goto('/admin/queues/queue/crm');
      for (const jobId of crmJobIds) await expect(admin.getByText(jobId).first()).toBeVisible();
      await readmeScreenshot(admin, 'admin-bull-board');
    });
    await admin.context().close();
  } finally {
    await setFault('all', { mode: 'up' });
    await discardUnresolved(request, crmJobIds);
    // The next specs expect a CRM that answers at once, not a breaker still open or counting.
    await waitForQuietBreakers(request);
  }
});

async function signUp(request: APIRequestContext, label: string): Promise<string> {
  const response = await request.post('/api/signups', { data: { name: 'Trouble Walk', email: uniqueEmail(label) } });
  expect(response.status()).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

/** Discards this spec's CRM dead letters, so no later verdict counts them. */
async function discardUnresolved(request: APIRequestContext, jobIds: string[]): Promise<void> {
  for (const jobId of jobIds) {
    for (const letter of await deadLettersOfJob(request, 'crm', jobId)) {
      if (letter.resolution !== null) continue;
      const discarded = await request.delete(`/api/admin/dlq/${letter.id}`, { headers: ADMIN_HEADERS, data: { reason: 'test account' } });
      expect(discarded.status()).toBe(200);
    }
  }
}
