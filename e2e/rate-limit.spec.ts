// The CRM rate-limits us (429 with Retry-After): the CRM job waits and completes later, without
// spending an attempt and without a dead letter. Observed three ways: every state the status page
// showed (never "retrying, attempt n of m", which appears only once an attempt has been spent),
// the job's own counters in the admin's job browser (bull-board), and the dead-letter API.
import { adminPage, deadLettersOfJob } from './support/admin-console';
import { expect, test } from './support/fixtures';
import { recordsFor, setFault } from './support/mock-providers';
import { expectEveryJob, jobRow, signUpInForm, uniqueEmail } from './support/signup-flow';

test('a rate-limited CRM delays the contact without spending attempts', async ({ page, browser, request }) => {
  test.setTimeout(90_000);
  await setFault('crm', { mode: 'ratelimit', retryAfterSeconds: 1 });

  const user = await signUpInForm(page, { name: 'Annie Easley', email: uniqueEmail('ratelimit') });
  const jobId = `sync-crm-contact-${user.id}`;
  // Every state and text the CRM row takes from now on, as the page renders it.
  await page.evaluate((testId) => {
    const seen: string[] = [];
    Object.assign(window, { crmRowSeen: seen });
    const note = () => {
      const row = document.querySelector(`[data-testid="${testId}"]`);
      const entry = `${row?.getAttribute('data-state')}: ${row?.textContent}`;
      if (seen.at(-1) !== entry) seen.push(entry);
    };
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  }, 'job-sync-crm-contact');

  // Answered 429 at least twice: the job was handed back to the queue and picked up again.
  await expect.poll(async () => (await recordsFor('crm', user.id))[0]?.failures ?? 0, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
  await expect(jobRow(page, 'sync-crm-contact')).not.toHaveAttribute('data-state', 'done');

  await setFault('crm', { mode: 'up' });
  await expectEveryJob(page, 'done', { timeout: 30_000 });

  const seen = await page.evaluate(() => (window as unknown as { crmRowSeen: string[] }).crmRowSeen);
  test.info().annotations.push({ type: 'CRM row states seen', description: seen.join(' → ') });
  expect(seen.at(-1)).toMatch(/^done: /);
  for (const entry of seen) expect(entry).not.toMatch(/retrying|attempt|dead-lettered/i);

  const contacts = await recordsFor('crm', user.id);
  expect(contacts.map(({ deliveries }) => deliveries)).toEqual([1]);
  expect(contacts[0]?.failures).toBeGreaterThanOrEqual(2);

  expect(await deadLettersOfJob(request, 'crm', jobId)).toEqual([]);

  // bull-board shows `attemptsStarted` only when it exceeds the attempts made: picked up three
  // times or more, one attempt spent (the one that succeeded).
  const admin = await adminPage(browser);
  const response = await admin.request.get(`/admin/queues/api/queues/crm/${jobId}`);
  expect(response.status()).toBe(200);
  const { job, status } = (await response.json()) as { job: { attempts: number; attemptsStarted?: number }; status: string };
  expect(status).toBe('completed');
  expect(job.attempts).toBe(1);
  expect(job.attemptsStarted).toBeGreaterThanOrEqual(3);
  await admin.context().close();
});
