// A worker process killed with SIGKILL in the middle of a job: `npm start` restarts it, the job's
// lock expires (WORKER_LOCK_DURATION_MS, 5 s in this stack), the stalled-job check hands the job to
// the new worker, and it completes once: one contact at the CRM, whose idempotency key makes the
// resend of an already-delivered request a replay.
import { adminPage } from './support/admin-console';
import { expect, test } from './support/fixtures';
import { recordsFor, setFault } from './support/mock-providers';
import { expectEveryJob, jobRow, signUpInForm, uniqueEmail } from './support/signup-flow';
import { workerPids } from './support/stack-processes';

test('a worker killed mid-job: its job finishes on the restarted worker, once', async ({ page, browser }) => {
  test.setTimeout(90_000);
  const [killed, ...others] = workerPids();
  expect(killed, 'the stack runs one worker process').toBeDefined();
  expect(others).toEqual([]);

  // The CRM answers after 5 s, so the CRM job is still waiting on it when its worker dies.
  await setFault('crm', { mode: 'slow', latencyMs: 5_000 });
  const user = await signUpInForm(page, { name: 'Mae Jemison', email: uniqueEmail('crash') });
  await expect(jobRow(page, 'sync-crm-contact')).toHaveAttribute('data-state', 'running');

  process.kill(killed as number, 'SIGKILL');
  await setFault('crm', { mode: 'up' });

  // The stack restarts it (scripts/start-stack.ts): one worker process again, a new one.
  await expect
    .poll(() => workerPids().filter((pid) => pid !== killed), { timeout: 30_000, message: 'a restarted worker process' })
    .toHaveLength(1);
  expect(workerPids()).not.toContain(killed);

  await expectEveryJob(page, 'done', { timeout: 45_000 });
  // One contact. The killed worker's request may have reached the CRM, and the resend carried the
  // same key: then the record shows two deliveries of one contact.
  const contacts = await recordsFor('crm', user.id);
  expect(contacts).toHaveLength(1);
  expect(contacts[0]?.deliveries).toBeGreaterThanOrEqual(1);

  // The job's own record: returned to the queue by the stalled-job check, not failed.
  const admin = await adminPage(browser);
  const response = await admin.request.get(`/admin/queues/api/queues/crm/sync-crm-contact-${user.id}`);
  expect(response.status()).toBe(200);
  const { job, status } = (await response.json()) as { job: { attempts: number; stalledCounter?: number }; status: string };
  expect(status).toBe('completed');
  expect(job.stalledCounter).toBe(1);
  expect(job.attempts).toBe(1);
  await admin.context().close();
});
