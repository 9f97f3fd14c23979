// Signing up as a visitor does, in the form, and reading the status page it lands on.
import { expect, type Locator, type Page } from '@playwright/test';
import { userIdByEmail } from './database';

/** The status page's jobs, by their data-testid `job-<name>`. */
export const SIGNUP_JOBS = ['send-welcome-email', 'sync-crm-contact', 'generate-avatar', 'track-signup-event'] as const;
export type SignupJob = (typeof SIGNUP_JOBS)[number];

const STATUS_PATH = /\/welcome\/[A-Za-z0-9_-]{43}$/;

export interface SignedUpUser {
  id: string;
  email: string;
  statusPath: string;
  /** From the click on "Create account" to the status page's heading. */
  confirmedInMs: number;
}

export function uniqueEmail(label: string): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.test`;
}

export async function fillSignupForm(page: Page, { name, email, workspace }: { name: string; email: string; workspace?: string }) {
  await page.goto('/');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  if (workspace) await page.getByLabel(/Workspace/).fill(workspace);
}

/** Fills in and submits the form, and waits for the status page that confirms the signup. */
export async function signUpInForm(
  page: Page,
  user: { name: string; email: string; workspace?: string },
): Promise<SignedUpUser> {
  await fillSignupForm(page, user);
  const clickedAt = Date.now();
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(STATUS_PATH);
  await expect(page.getByRole('heading', { name: `Welcome, ${user.name}` })).toBeVisible();
  const confirmedInMs = Date.now() - clickedAt;
  const id = await userIdByEmail(user.email);
  if (!id) throw new Error(`the status page appeared but no user ${user.email} is stored`);
  return { id, email: user.email, statusPath: new URL(page.url()).pathname, confirmedInMs };
}

export function jobRow(page: Page, job: SignupJob): Locator {
  return page.getByTestId(`job-${job}`);
}

export async function expectEveryJob(page: Page, state: string, { timeout }: { timeout?: number } = {}): Promise<void> {
  for (const job of SIGNUP_JOBS) await expect(jobRow(page, job), job).toHaveAttribute('data-state', state, { timeout });
}
