// The newcomer's walk: sign up in the form, watch the status page fill in, find the one welcome
// email and follow its link; the form's errors, with nothing stored; and the same signup with
// JavaScript turned off. The happy path also takes the README's screenshot of the form.
import { countUsers, userIdByEmail } from './support/database';
import { expect, test } from './support/fixtures';
import { EFFECT_PROVIDERS, recordsFor, welcomeEmailTo } from './support/mock-providers';
import { expectEveryJob, fillSignupForm, signUpInForm, uniqueEmail } from './support/signup-flow';
import { readmeScreenshot } from './support/readme-screenshot';

test.describe('signing up in the browser', () => {
  test('lands on the status page, which fills in by itself, and the email link verifies the address', async ({ page }) => {
    const email = uniqueEmail('grace');
    await fillSignupForm(page, { name: 'Grace Hopper', email, workspace: 'navy' });
    await readmeScreenshot(page, 'signup');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/welcome\/[A-Za-z0-9_-]{43}$/);
    await expect(page.getByRole('heading', { name: 'Welcome, Grace Hopper' })).toBeVisible();

    await expectEveryJob(page, 'done');
    const avatar = page.getByTestId('avatar');
    await expect(avatar).toBeVisible();
    expect(await avatar.evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth)).toBe(256);

    // Exactly one effect of each kind reached the providers for this user, each sent once.
    const userId = await userIdByEmail(email);
    if (!userId) throw new Error(`no user ${email}`);
    for (const provider of EFFECT_PROVIDERS) {
      expect((await recordsFor(provider, userId)).map((record) => record.deliveries), provider).toEqual([1]);
    }

    const mail = await welcomeEmailTo(email);
    const link = /https?:\/\/\S+\/verify\/[A-Za-z0-9_-]+/.exec(mail.body.text)?.[0];
    expect(link).toBeTruthy();
    const linkPath = new URL(link as string).pathname;
    // Opening the link confirms nothing (a mail scanner opens links too); its button does.
    await page.goto(linkPath);
    await page.getByRole('button', { name: 'Confirm my email address' }).click();
    await expect(page.getByText('Email confirmed')).toBeVisible();
    await expect(page.getByTestId('email-verified')).toHaveAttribute('data-state', 'verified');
    // Used once, the link opens nothing more than the offer of a new one.
    expect((await page.goto(linkPath))?.status()).toBe(410);
    await expect(page.getByRole('button', { name: 'Email me a new link' })).toBeVisible();
  });

  test('shows each field error inline, keeps what was typed, and stores nothing', async ({ page }) => {
    const usersBefore = await countUsers();
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

    // A valid email beside the other errors is still not stored. The suite runs one test at a
    // time, so the count is this test's alone.
    const email = uniqueEmail('refused');
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByText('Name is required.')).toBeVisible();
    await expect(page.getByText(/Workspace must be/)).toBeVisible();
    await expect(page.getByText('Enter a valid email address.')).toHaveCount(0);
    expect(await userIdByEmail(email)).toBeUndefined();
    expect(await countUsers()).toBe(usersBefore);
  });

  test('refuses an email that is already registered, on the email field', async ({ page }) => {
    const email = uniqueEmail('twice');
    const first = await signUpInForm(page, { name: 'First', email });
    await page.goto('/');
    await page.getByLabel('Name').fill('Second');
    await page.getByLabel('Email').fill(email.toUpperCase());
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByText('An account with this email already exists.')).toBeVisible();
    expect(await userIdByEmail(email)).toBe(first.id);
  });
});

test.describe('signing up without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the form still posts, shows errors, and lands on the status page', async ({ page }) => {
    const email = uniqueEmail('nojs');
    await page.goto('/');
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByText('Name is required.')).toBeVisible();
    expect(await userIdByEmail(email)).toBeUndefined();

    await page.getByLabel('Name').fill('Ada Lovelace');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/welcome\/[A-Za-z0-9_-]{43}$/);
    await expect(page.getByRole('heading', { name: 'Welcome, Ada Lovelace' })).toBeVisible();
    expect(await userIdByEmail(email)).toBeDefined();
  });
});
