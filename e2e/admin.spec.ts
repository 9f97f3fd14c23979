// The operator's walk through the admin console: sign in, see the four queues healthy, take the CRM
// down from the fault panel and watch its breaker open and the verdict turn, make the CRM refuse
// for good so the waiting jobs become dead letters (which the users' status pages show), bring it
// back, replay them from the dead-letter page, see the users' CRM jobs done, exactly one contact
// per user at the CRM, and the verdict healthy again. Every wait is a polled expectation.
import type { APIRequestContext, Page } from '@playwright/test';
import { createQueueSet, closeQueueSet, QUEUE_NAMES } from '../lib/queues';
import { createProducerConnection } from '../lib/valkey';
import { E2E } from './support/e2e-environment';
import { expect, test } from './support/fixtures';
import { inspect } from './support/mock-providers';

const ADMIN = E2E.admin;
const QUEUES = ['email', 'crm', 'avatar', 'analytics'];
/**
 * Enough CRM jobs that their retries alone reach the breaker's minimum of 10 calls in its 30 s
 * window within seconds (each job tries about 4 times in its first 15 s of backoff).
 */
const USERS = 4;

// An earlier run leaves dead letters (if it stopped midway) and final failures that count in the
// error rate for 15 minutes; either would hold the verdict at degraded. The suite's own queue prefix
// and database are started clean, as global-setup does for the mocks.
test.beforeAll(async ({ playwright }) => {
  const api = await playwright.request.newContext({
    baseURL: E2E.baseUrl,
    extraHTTPHeaders: { authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}` },
  });
  for (;;) {
    const listed = await api.get('/api/admin/dlq?limit=100');
    expect(listed.status()).toBe(200);
    const { deadLetters } = (await listed.json()) as { deadLetters: Array<{ id: string }> };
    if (deadLetters.length === 0) break;
    for (const { id } of deadLetters) {
      const discarded = await api.delete(`/api/admin/dlq/${id}`, { data: { reason: 'left by an earlier e2e run' } });
      expect(discarded.status()).toBe(200);
    }
  }
  await api.dispose();

  const connection = createProducerConnection(E2E.env.VALKEY_URL);
  const queues = createQueueSet(connection, E2E.env.QUEUE_PREFIX);
  for (const name of QUEUE_NAMES) {
    // obliterate() insists on a paused queue; the paused flag goes with the rest of its keys.
    await queues[name].pause();
    await queues[name].obliterate({ force: true });
    await queues[name].resume();
  }
  await closeQueueSet(queues);
  await connection.quit();
});

test('an operator watches the CRM fail, then replays its dead letters once it is back', async ({ page, request }) => {
  test.setTimeout(300_000);
  const verdict = page.getByTestId('verdict');

  await test.step('the console asks for a login and refuses a wrong password', async () => {
    await page.goto('/admin');
    await expect(page).toHaveURL(/\/admin\/login$/);
    await page.getByLabel('User').fill(ADMIN.user);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'Wrong user or password.' })).toBeVisible();
    await expect(page).toHaveURL(/\/admin\/login$/);

    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/admin$/);
  });

  await test.step('four queues, and a healthy verdict once the stack has settled', async () => {
    for (const queue of QUEUES) await expect(page.getByTestId(`queue-${queue}`)).toBeVisible();
    await expect(verdict).toHaveAttribute('data-verdict', 'healthy', { timeout: 60_000 });
    await expect(page.getByTestId('queue-crm')).toHaveAttribute('data-breaker', 'closed');
  });

  let users: User[] = [];
  await test.step('with the CRM down, signups still answer and the CRM breaker opens', async () => {
    await setFaultFromPanel(page, 'crm', 'down');
    users = await Promise.all(Array.from({ length: USERS }, (_, i) => signUp(request, `admin-walk-${i}`)));

    await expect(page.getByTestId('queue-crm')).toHaveAttribute('data-breaker', 'open', { timeout: 30_000 });
    await expect(verdict).toHaveAttribute('data-verdict', 'degraded', { timeout: 30_000 });
    await expect(page.getByTestId('verdict-reasons')).toContainText('crm: circuit breaker');
    // Only the CRM's queue is held back.
    await expect(page.getByTestId('queue-email')).toHaveAttribute('data-breaker', 'closed');
  });

  await test.step('with the CRM refusing for good, the waiting jobs become dead letters', async () => {
    await setFaultFromPanel(page, 'crm', 'reject');
    await page.goto('/admin/dead-letters?queue=crm');
    await expect(async () => {
      await page.reload();
      for (const user of users) await expect(deadLetterRow(page, user)).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 120_000 });
    for (const user of users) await expect(deadLetterRow(page, user)).toContainText('answered 422');
  });

  await test.step("the user's status page shows the CRM job dead-lettered", async () => {
    const [first] = users;
    if (!first) throw new Error('no user signed up');
    const statusPage = await page.context().newPage();
    await statusPage.goto(first.statusUrl);
    const crm = statusPage.getByTestId('job-sync-crm-contact');
    await expect(crm).toHaveAttribute('data-state', 'dead-lettered');
    await expect(crm).toContainText('422');
    await statusPage.close();
  });

  await test.step('a dead letter shows its payload, every attempt and the stack trace', async () => {
    const [first] = users;
    if (!first) throw new Error('no user signed up');
    await deadLetterRow(page, first).getByRole('link', { name: 'Details' }).click();
    await expect(page.getByTestId('payload')).toContainText(first.id);
    await expect(page.getByTestId('last-error')).toContainText('422');
    const attempts = page.getByTestId('attempts').locator('tbody tr');
    expect(await attempts.count()).toBeGreaterThanOrEqual(2);
    await expect(attempts.first()).toContainText('503');
    await expect(attempts.last()).toContainText('422');
    await expect(page.getByTestId('stack-trace')).toContainText('Error');
  });

  await test.step('the CRM comes back and the dead letters are replayed from the page', async () => {
    await page.goto('/admin');
    await setFaultFromPanel(page, 'crm', 'up');

    await page.goto('/admin/dead-letters?queue=crm');
    for (const user of users) await deadLetterRow(page, user).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Replay selected' }).click();
    await expect(page.getByTestId('action-result')).toContainText(`Replayed ${USERS} dead letters`);
    for (const user of users) await expect(deadLetterRow(page, user)).toHaveCount(0);
    await expect(page.getByTestId('audit-log').locator('tbody tr').first()).toContainText('replay');
  });

  await test.step("the users' status pages show the CRM job done", async () => {
    const statusPage = await page.context().newPage();
    for (const user of users) {
      // A settled page stops polling, so the user sees the change on their next visit.
      await expect(async () => {
        await statusPage.goto(user.statusUrl);
        await expect(statusPage.getByTestId('job-sync-crm-contact')).toHaveAttribute('data-state', 'done', { timeout: 1_000 });
      }).toPass({ timeout: 60_000 });
    }
    await statusPage.close();
  });

  await test.step('the CRM holds exactly one contact per user', async () => {
    // One record per idempotency key: the 503s and 422s were counted as failures, and the replay
    // delivered the contact once.
    const perUser = async () => {
      const records = await inspect('crm');
      return users.map((user) => records.filter((record) => record.key.includes(user.id)).map((record) => record.deliveries));
    };
    await expect.poll(perUser, { timeout: 60_000 }).toEqual(users.map(() => [1]));
  });

  await test.step('with the CRM back and no dead letter left, the verdict is healthy again', async () => {
    await page.goto('/admin');
    await expect(verdict).toHaveAttribute('data-verdict', 'healthy', { timeout: 60_000 });
    await expect(page.getByTestId('queue-crm')).toHaveAttribute('data-breaker', 'closed');
  });

  await test.step('logging out closes the console', async () => {
    await page.goto('/admin');
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/admin\/login$/);
    await page.goto('/admin/dead-letters');
    await expect(page).toHaveURL(/\/admin\/login\?next=/);
  });
});

interface User {
  id: string;
  email: string;
  statusUrl: string;
}

async function signUp(request: APIRequestContext, label: string): Promise<User> {
  const email = `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.test`;
  const response = await request.post('/api/signups', { data: { name: 'Admin Walk', email } });
  expect(response.status()).toBe(201);
  const { id, statusUrl } = (await response.json()) as { id: string; statusUrl: string };
  return { id, email, statusUrl };
}

/** Sets a provider's fault through the health page's panel and waits for the mocks to confirm it. */
async function setFaultFromPanel(page: Page, provider: string, mode: string): Promise<void> {
  const row = page.getByTestId(`fault-row-${provider}`);
  await page.getByTestId(`fault-${provider}`).selectOption(mode);
  await row.getByRole('button', { name: 'Apply' }).click();
  await expect(row).toHaveAttribute('data-mode', mode);
}

/** The unresolved dead-letter row of a user's CRM job, found by its job id. */
function deadLetterRow(page: Page, user: User) {
  return page.locator('[data-testid^="dead-letter-"][data-resolution="unresolved"]', { hasText: `sync-crm-contact-${user.id}` });
}
