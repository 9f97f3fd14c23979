// The newcomer's walk: sign up in the form, watch the status page fill in, find the one welcome
// email and follow its link; and the same signup with JavaScript turned off.
import { expect, test, type Page } from '@playwright/test';
import { inspect, welcomeEmailTo } from './mock-providers';

const JOBS = ['send-welcome-email', 'sync-crm-contact', 'generate-avatar', 'track-signup-event'];

function uniqueEmail(label: string): string {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.test`;
}

async function signUp(page: Page, { name, email, workspace }: { name: string; email: string; workspace?: string }) {
  await page.goto('/');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  if (workspace) await page.getByLabel(/Workspace/).fill(workspace);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/welcome\/[A-Za-z0-9_-]{43}$/);
}

test.describe('signing up in the browser', () => {
  test('lands on the status page, which fills in by itself, and the email link verifies the address', async ({ page }) => {
    const email = uniqueEmail('happy');
    await signUp(page, { name: 'Grace Hopper', email, workspace: 'navy' });
    await expect(page.getByRole('heading', { name: 'Welcome, Grace Hopper' })).toBeVisible();

    for (const job of JOBS) await expect(page.getByTestId(`job-${job}`)).toHaveAttribute('data-state', 'done');
    const avatar = page.getByTestId('avatar');
    await expect(avatar).toBeVisible();
    expect(await avatar.evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth)).toBe(256);

    // Exactly one effect of each kind reached the providers for this user.
    const mail = await welcomeEmailTo(email);
    expect(mail.deliveries).toBe(1);
    const crm = (await inspect('crm')).filter((record) => (record.body as { email?: string }).email === email);
    expect(crm.map((record) => record.deliveries)).toEqual([1]);
    const userId = (crm[0]?.body as { externalId: string }).externalId;
    for (const provider of ['storage', 'analytics']) {
      const records = (await inspect(provider)).filter((record) => record.key.includes(userId));
      expect(records.map((record) => record.deliveries), provider).toEqual([1]);
    }

    const link = /https?:\/\/\S+\/verify\/[A-Za-z0-9_-]+/.exec(mail.body.text)?.[0];
    expect(link).toBeTruthy();
    await page.goto(new URL(link as string).pathname);
    await expect(page.getByText('Email confirmed')).toBeVisible();
    await expect(page.getByTestId('email-verified')).toHaveAttribute('data-state', 'verified');
  });

  test('shows each field error inline and keeps what was typed', async ({ page }) => {
    await page.goto('/signup');
    await page.getByLabel('Email').fill('not-an-email');
    await page.getByLabel(/Workspace/).fill('Bad Space');
    await page.getByRole('button', { name: 'Create account' }).click();

    await expect(page.getByText('Name is required.')).toBeVisible();
    await expect(page.getByText('Enter a valid email address.')).toBeVisible();
    await expect(page.getByText(/Workspace must be/)).toBeVisible();
    await expect(page.getByLabel('Email')).toHaveValue('not-an-email');
    await expect(page.getByLabel('Email')).toHaveAttribute('aria-invalid', 'true');
    expect(page.url()).toMatch(/\/signup$/);
  });

  test('refuses an email that is already registered, on the email field', async ({ page }) => {
    const email = uniqueEmail('twice');
    await signUp(page, { name: 'First', email });
    await page.goto('/');
    await page.getByLabel('Name').fill('Second');
    await page.getByLabel('Email').fill(email.toUpperCase());
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByText('An account with this email already exists.')).toBeVisible();
  });
});

test.describe('signing up without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the form still posts, shows errors, and lands on the status page', async ({ page }) => {
    await page.goto('/');
    await page.getByLabel('Email').fill(uniqueEmail('nojs'));
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByText('Name is required.')).toBeVisible();

    await page.getByLabel('Name').fill('Ada Lovelace');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/welcome\/[A-Za-z0-9_-]{43}$/);
    await expect(page.getByRole('heading', { name: 'Welcome, Ada Lovelace' })).toBeVisible();
  });
});
