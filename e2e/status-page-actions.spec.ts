// What a new user and an admin can do beyond signing up, in the browser: ask for the verification
// email again (with growing waits), get a new link once the status link has expired (with
// JavaScript off, as plain forms), delete the account, and invite a list of people into a workspace
// (where the README's picture of the invitations page is taken).
import { ADMIN_HEADERS, adminPage } from './support/admin-console';
import { expireStatusLinks } from './support/database';
import { E2E } from './support/e2e-environment';
import { expect, test } from './support/fixtures';
import { inspect } from './support/mock-providers';
import { readmeScreenshot } from './support/readme-screenshot';
import { jobRow, signUpInForm, uniqueEmail } from './support/signup-flow';

interface Mail {
  key: string;
  deliveries: number;
  body: { to: string[]; subject: string; text: string };
}

async function mailsTo(address: string): Promise<Mail[]> {
  return ((await inspect('smtp')) as unknown as Mail[]).filter((mail) => mail.body.to.includes(address));
}

test.describe('the status page', () => {
  test('sends the verification email again when asked, and asks to wait before a second time', async ({ page }) => {
    const user = await signUpInForm(page, { name: 'Ada Lovelace', email: uniqueEmail('resend') });
    await expect(jobRow(page, 'send-welcome-email')).toHaveAttribute('data-state', 'done');

    await page.getByRole('button', { name: 'Resend verification email' }).click();
    await expect(page.getByTestId('resend-result')).toHaveAttribute('data-outcome', 'sent');
    await expect
      .poll(async () => (await mailsTo(user.email)).map((mail) => mail.body.subject).sort())
      .toEqual(['Confirm your email', 'Welcome! Please confirm your email']);

    await page.getByRole('button', { name: 'Resend verification email' }).click();
    await expect(page.getByTestId('resend-result')).toHaveAttribute('data-outcome', 'too-soon');
    await expect(page.getByTestId('resend-result')).toContainText('a short while ago');
    // The refused press sent nothing.
    expect(await mailsTo(user.email)).toHaveLength(2);
  });

  test('once its link has expired, emails a new link that confirms the address, with JavaScript off', async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    try {
      const user = await signUpInForm(page, { name: 'Alan Turing', email: uniqueEmail('expired') });
      await expireStatusLinks(user.id);
      expect((await page.goto(user.statusPath))?.status()).toBe(200);
      await expect(page.getByTestId('link-expired')).toBeVisible();
      // Nothing of the account is shown to the holder of an expired link.
      await expect(page.getByText('Alan Turing')).toHaveCount(0);

      await page.getByRole('button', { name: 'Email me a new link' }).click();
      await expect(page.getByTestId('resend-result')).toHaveAttribute('data-outcome', 'sent');
      let mail: Mail | undefined;
      await expect
        .poll(async () => (mail = (await mailsTo(user.email)).find((candidate) => candidate.body.subject === 'Confirm your email')))
        .toBeTruthy();
      const link = /https?:\/\/\S+\/verify\/[A-Za-z0-9_-]+/.exec(mail?.body.text ?? '')?.[0] ?? '';
      await page.goto(new URL(link).pathname);
      await page.getByRole('button', { name: 'Confirm my email address' }).click();
      await page.waitForURL(/\/welcome\/[A-Za-z0-9_-]{43}\?verified=1$/);
      await expect(page.getByText('Email confirmed')).toBeVisible();
      expect(new URL(page.url()).pathname).not.toBe(user.statusPath);
    } finally {
      await context.close();
    }
  });

  test('deletes the account after the box is ticked, and the status link then opens nothing', async ({ page, request }) => {
    const user = await signUpInForm(page, { name: 'Charles Babbage', email: uniqueEmail('delete') });

    await page.getByLabel(/I understand/).check();
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.waitForURL(/\/welcome\/deleted$/);
    await expect(page.getByTestId('account-deleted')).toBeVisible();

    const token = user.statusPath.split('/').at(-1) as string;
    expect((await request.get(`/api/welcome/${token}`)).status()).toBe(404);
    expect((await page.goto(user.statusPath))?.status()).toBe(404);
  });
});

test.describe('inviting people into a workspace', () => {
  test('the admin pastes a list, everyone gets one invitation, and sending it again invites nobody twice', async ({
    browser,
    request,
  }) => {
    const workspace = `team-${Date.now().toString(36)}`;
    const addresses = ['one', 'two', 'three'].map((name) => `${name}@${workspace}.test`);
    const admin = await adminPage(browser);
    await admin.getByRole('link', { name: 'Invitations' }).click();
    await admin.getByLabel('Workspace').fill(workspace);
    await admin.getByLabel('Email addresses').fill(addresses.join('\n'));
    await admin.getByRole('button', { name: 'Invite' }).click();
    await expect(admin.getByText(`Invited 3 (0 already invited) to ${workspace}.`)).toBeVisible();
    // Off the button, so the picture shows it at rest rather than hovered.
    await admin.mouse.move(0, 0);
    await readmeScreenshot(admin, 'admin-invites');

    for (const address of addresses) {
      await expect.poll(async () => (await mailsTo(address)).map((mail) => mail.deliveries)).toEqual([1]);
      const [mail] = await mailsTo(address);
      expect(mail?.body.text).toContain(`/signup?workspace=${workspace}`);
    }

    // The same list by script: nobody is invited or mailed twice.
    const again = await request.post(`${E2E.baseUrl}/api/workspaces/${workspace}/invites`, {
      headers: ADMIN_HEADERS,
      data: { emails: addresses },
    });
    expect(again.status()).toBe(202);
    expect(await again.json()).toEqual({ count: 0, alreadyInvited: 3 });
    await admin.context().close();
  });

  test('refuses a stranger', async ({ request }) => {
    const response = await request.post('/api/workspaces/anyone/invites', { data: { emails: ['a@example.test'] } });
    expect(response.status()).toBe(401);
  });
});
