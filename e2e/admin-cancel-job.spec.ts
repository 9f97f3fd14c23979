// Cancelling a job from the admin's Pending jobs page (docs/failure-model.md#cancelling-a-job):
// with the CRM hanging, a signup's CRM job sits active; the operator cancels it with a reason, it
// leaves the list and shows on the dead-letter page as cancelled, with the reason; once the CRM
// answers again it is re-run from there, and the contact is stored exactly once.
import { ADMIN_HEADERS, adminPage, deadLettersOfJob, waitForQuietBreakers } from './support/admin-console';
import { crmContactsOf } from './support/database';
import { expect, test } from './support/fixtures';
import { recordsFor, setFault } from './support/mock-providers';
import { readmeScreenshot } from './support/readme-screenshot';
import { uniqueEmail } from './support/signup-flow';

const REASON = 'CRM import frozen; re-run after the fix';

test('an operator cancels a hung CRM job with a reason, then re-runs it from its dead letter', async ({ browser, request }) => {
  // An open breaker would hold the job back in the queue rather than let it hang at the CRM.
  await waitForQuietBreakers(request);
  await setFault('crm', { mode: 'hang' });
  const response = await request.post('/api/signups', { data: { name: 'Cancel Walk', email: uniqueEmail('cancel-job') } });
  expect(response.status()).toBe(201);
  const { id: userId } = (await response.json()) as { id: string };
  const jobId = `sync-crm-contact-${userId}`;
  const admin = await adminPage(browser);

  try {
    await test.step('the Pending jobs page lists the hung job as active', async () => {
      await admin.getByRole('link', { name: 'Pending jobs' }).click();
      await expect(admin.getByRole('heading', { name: 'Pending jobs', level: 1 })).toBeVisible();
      // The page is rendered on the server, once per visit.
      await expect(async () => {
        await admin.reload();
        await expect(admin.getByTestId(`pending-job-${jobId}`)).toContainText('active', { timeout: 1_000 });
      }).toPass({ timeout: 20_000 });
    });

    await test.step('Cancel asks for a reason, and the job leaves the list', async () => {
      const row = admin.getByTestId(`pending-job-${jobId}`);
      await row.getByRole('button', { name: 'Cancel…' }).click();
      const form = row.getByRole('form', { name: `Cancel ${jobId}` });
      const confirm = form.getByRole('button', { name: 'Cancel job' });
      // No reason, no cancel.
      await expect(confirm).toBeDisabled();
      await form.getByLabel('Reason (required)').fill(REASON);
      await expect(confirm).toBeEnabled();
      await admin.mouse.move(0, 0);
      await readmeScreenshot(admin, 'admin-jobs-cancel');

      await confirm.click();
      await expect(admin.getByTestId('cancel-result-crm')).toContainText(new RegExp(`Cancelled ${jobId} \\(it was (active|delayed)\\)`));
      await expect(row).toHaveCount(0);
    });

    let deadLetterId = '';
    await test.step('the dead-letter page shows it cancelled, with the reason, in the audit log too', async () => {
      const [letter] = await deadLettersOfJob(request, 'crm', jobId);
      expect(letter?.lastError).toContain(REASON);
      deadLetterId = letter?.id ?? '';
      await admin.goto('/admin/dead-letters?queue=crm&kind=cancelled');
      const row = admin.getByTestId(`dead-letter-${deadLetterId}`);
      await expect(row).toHaveAttribute('data-resolution', 'unresolved');
      await expect(row.getByText('cancelled', { exact: true })).toBeVisible();
      await expect(row).toContainText(REASON);
      await expect(admin.getByTestId('audit-log').locator('tbody tr').first()).toContainText('cancel');
    });

    await test.step('with the CRM answering again, the re-run completes and the contact exists once', async () => {
      // The hung call landed and only its answer was lost (the mock's `hang`); the cancelled job
      // did not retry, so the CRM saw one delivery and the app stored no contact.
      expect((await recordsFor('crm', userId)).map((record) => record.deliveries)).toEqual([1]);
      expect(await crmContactsOf(userId)).toBe(0);
      await setFault('crm', { mode: 'up' });
      const row = admin.getByTestId(`dead-letter-${deadLetterId}`);
      await row.getByRole('checkbox').check();
      await admin.getByRole('button', { name: 'Replay selected' }).click();
      await expect(admin.getByTestId('action-result')).toContainText('Replayed 1 dead letter');
      await expect(row).toHaveCount(0);

      // The re-run's call carries the same idempotency key: a second delivery of one contact.
      await expect.poll(() => crmContactsOf(userId), { timeout: 30_000 }).toBe(1);
      expect((await recordsFor('crm', userId)).map((record) => record.deliveries)).toEqual([2]);
      const [letter] = await deadLettersOfJob(request, 'crm', jobId);
      expect(letter?.resolution).toBe('replayed');
      // Completed: nothing left to cancel.
      const late = await request.post(`/api/admin/jobs/crm/${jobId}/cancel`, { headers: ADMIN_HEADERS, data: { reason: 'late' } });
      expect(late.status()).toBe(409);
    });
  } finally {
    await admin.context().close();
    // A run stopped midway leaves no cancelled letter behind for later pages and verdicts.
    for (const letter of await deadLettersOfJob(request, 'crm', jobId)) {
      if (letter.resolution === null) await request.delete(`/api/admin/dlq/${letter.id}`, { headers: ADMIN_HEADERS, data: { reason: 'left by a failed e2e run' } });
    }
  }
});
