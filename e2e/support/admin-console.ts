// The admin area as the suite uses it: HTTP Basic for the API (as scripts do), the login form for
// the pages (as people do).
import { expect, type APIRequestContext, type Browser, type Page } from '@playwright/test';
import { E2E } from './e2e-environment';

export const ADMIN_HEADERS = {
  authorization: `Basic ${Buffer.from(`${E2E.admin.user}:${E2E.admin.password}`).toString('base64')}`,
};

export interface DeadLetter {
  id: string;
  queue: string;
  jobId: string;
  lastError: string;
  resolution: string | null;
}

/** Every dead letter of a job, resolved (replayed, discarded) or not. */
export async function deadLettersOfJob(request: APIRequestContext, queue: string, jobId: string): Promise<DeadLetter[]> {
  const response = await request.get(`/api/admin/dlq?queue=${queue}&resolved=include&limit=100`, { headers: ADMIN_HEADERS });
  expect(response.status()).toBe(200);
  const { deadLetters } = (await response.json()) as { deadLetters: DeadLetter[] };
  return deadLetters.filter((letter) => letter.jobId === jobId);
}

interface QueueBreaker {
  name: string;
  breaker: { provider: string; state: string; failuresInWindow: number };
}

/**
 * Waits until no provider's circuit breaker is open or remembers a recent failure (its window is
 * 30 s), so a spec that makes providers fail sees its own jobs retry rather than a breaker opened
 * by an earlier spec's failures.
 */
export async function waitForQuietBreakers(request: APIRequestContext): Promise<void> {
  await expect
    .poll(
      async () => {
        const response = await request.get('/api/admin/queues', { headers: ADMIN_HEADERS });
        if (response.status() !== 200) return [`/api/admin/queues answered ${response.status()}`];
        const { queues } = (await response.json()) as { queues: QueueBreaker[] };
        return queues
          .filter(({ breaker }) => breaker.state !== 'closed' || breaker.failuresInWindow > 0)
          .map(({ breaker }) => `${breaker.provider}: ${breaker.state}, ${breaker.failuresInWindow} failures`);
      },
      { timeout: 45_000, message: 'circuit breakers closed with no recent failures' },
    )
    .toEqual([]);
}

export async function logIn(page: Page): Promise<void> {
  await page.goto('/admin/login');
  await page.getByLabel('User').fill(E2E.admin.user);
  await page.getByLabel('Password').fill(E2E.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/admin$/);
}

/** A logged-in admin in a browser context of their own, apart from the visitor's. */
export async function adminPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ baseURL: E2E.baseUrl });
  const page = await context.newPage();
  await logIn(page);
  return page;
}
