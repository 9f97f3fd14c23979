// Accessibility, checked in the browser. axe runs its WCAG 2.0 and 2.1 A/AA rules on every page a
// visitor or the admin sees, in the light and the dark scheme, and any serious or critical
// violation fails the test with its rule, help text and elements. Beside axe: every control has an
// accessible name, the signup form's errors are announced and tied to their fields, and the whole
// signup works from the keyboard alone.
import AxeBuilder from '@axe-core/playwright';
import type { APIRequestContext, Page } from '@playwright/test';
import { ADMIN_HEADERS, deadLettersOfJob, logIn, type DeadLetter } from './support/admin-console';
import { expireStatusLinks } from './support/database';
import { E2E } from './support/e2e-environment';
import { expect, test } from './support/fixtures';
import { setFault, welcomeEmailTo } from './support/mock-providers';
import { jobRow, signUpInForm, uniqueEmail } from './support/signup-flow';

const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const BLOCKING_IMPACTS = new Set(['serious', 'critical']);

/**
 * bull-board (/admin/queues) is a third-party React app we serve as it ships; these rules fail on
 * its own markup and styles (@bull-board/ui 9.10.1), which no option of ours changes:
 * - button-name: its header's icon-only buttons and its menu triggers carry no accessible name;
 * - color-contrast: its grey keyboard hints and small red flags fall below 4.5:1;
 * - svg-img-alt: its logo is an svg with role="img" and no title.
 */
const BULL_BOARD_OWN_VIOLATIONS = ['button-name', 'color-contrast', 'svg-img-alt'];

/**
 * Fails on any serious or critical axe violation, listing each with its elements. Our own pages are
 * also checked in the dark scheme, which they style with a palette of their own, and for a name on
 * every control; a third-party page gets axe alone, less the rules its own markup breaks.
 */
async function expectAccessible(page: Page, label: string, thirdParty?: { disableRules: string[] }): Promise<void> {
  const disableRules = thirdParty?.disableRules ?? [];
  for (const colorScheme of thirdParty ? (['light'] as const) : (['light', 'dark'] as const)) {
    await page.emulateMedia({ colorScheme });
    const { violations } = await new AxeBuilder({ page }).withTags(WCAG_TAGS).disableRules(disableRules).analyze();
    const blocking = violations
      .filter((violation) => BLOCKING_IMPACTS.has(violation.impact ?? ''))
      .map((violation) =>
        [
          `${violation.id} (${violation.impact}): ${violation.help}`,
          ...violation.nodes.map((node) => `  ${node.target.join(' ')}${node.failureSummary ? `: ${node.failureSummary.replace(/\s+/g, ' ')}` : ''}`),
        ].join('\n'),
      );
    // Soft: the test goes on to the other pages, so one run lists every page's violations.
    expect.soft(blocking, `${label} (${colorScheme} scheme): serious or critical axe violations`).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  if (!thirdParty) await expectEveryControlNamed(page, label);
}

/** Every visible input, select, textarea and button says what it is to a screen reader. */
async function expectEveryControlNamed(page: Page, label: string): Promise<void> {
  const controls = page.locator('input:not([type="hidden"]), select, textarea, button');
  for (const control of await controls.all()) {
    if (!(await control.isVisible())) continue;
    const markup = await control.evaluate((element) => element.outerHTML.slice(0, 160));
    await expect.soft(control, `${label}: ${markup}`).toHaveAccessibleName(/\S/);
  }
}

test.describe('the visitor pages', () => {
  test('the signup form passes axe, with and without its field errors, which are announced', async ({ page }) => {
    await page.goto('/');
    await expectAccessible(page, 'signup form');

    await page.getByLabel('Email').fill('not-an-email');
    await page.getByRole('button', { name: 'Create account' }).click();
    // Announced as they appear, and read again with their field when it has the focus.
    await expect(page.getByRole('alert').filter({ hasText: 'Name is required.' })).toBeVisible();
    await expect(page.getByRole('alert').filter({ hasText: 'Enter a valid email address.' })).toBeVisible();
    await expect(page.getByLabel('Name')).toBeFocused();
    await expect(page.getByLabel('Name')).toHaveAccessibleDescription('Name is required.');
    await expect(page.getByLabel('Email')).toHaveAccessibleDescription('Enter a valid email address.');
    await expectAccessible(page, 'signup form with field errors');
  });

  test('the whole signup works from the keyboard alone', async ({ page }) => {
    const email = uniqueEmail('keyboard');
    await page.goto('/');
    await page.keyboard.press('Tab');
    await expect(page.getByRole('link', { name: 'Signup Demo' })).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(page.getByLabel('Name')).toBeFocused();
    // The focused field can be told from the others.
    const look = (label: string) =>
      page.getByLabel(label).evaluate((field) => `${getComputedStyle(field).borderColor} ${getComputedStyle(field).boxShadow}`);
    const unfocused = await look('Email');
    await expect.poll(() => look('Name')).not.toBe(unfocused);

    // Enter with the name missing submits, and the keyboard is put back where the problem is.
    await page.keyboard.press('Tab');
    await expect(page.getByLabel('Email')).toBeFocused();
    await page.keyboard.type(email);
    await page.keyboard.press('Enter');
    await expect(page.getByRole('alert').filter({ hasText: 'Name is required.' })).toBeVisible();
    await expect(page.getByLabel('Name')).toBeFocused();

    await page.keyboard.type('Hedy Lamarr');
    await page.keyboard.press('Tab');
    await expect(page.getByLabel('Email')).toBeFocused();
    await expect(page.getByLabel('Email')).toHaveValue(email);
    await page.keyboard.press('Tab');
    await expect(page.getByLabel(/Workspace/)).toBeFocused();
    await page.keyboard.type('lamarr-labs');
    await page.keyboard.press('Tab');
    await expect(page.getByRole('button', { name: 'Create account' })).toBeFocused();
    await page.keyboard.press('Enter');

    await page.waitForURL(/\/welcome\/[A-Za-z0-9_-]{43}$/);
    await expect(page.getByRole('heading', { name: 'Welcome, Hedy Lamarr' })).toBeVisible();
    await expect(page.getByText('lamarr-labs').first()).toBeVisible();
  });

  test('the status page (done, retrying and dead-lettered jobs), the email link and the expired link pass axe', async ({
    page,
    request,
  }) => {
    test.setTimeout(90_000);
    // One job of each outcome on one page: the CRM refuses for good, analytics keeps failing.
    await setFault('crm', { mode: 'reject' });
    await setFault('analytics', { mode: 'down' });
    const email = uniqueEmail('axe-status');
    const user = await signUpInForm(page, { name: 'Grace Hopper', email, workspace: 'cobol' });
    const crmJobId = `sync-crm-contact-${user.id}`;
    try {
      await expect(jobRow(page, 'sync-crm-contact')).toHaveAttribute('data-state', 'dead-lettered');
      // Recorded, so the discard at the end finds it.
      await expect.poll(async () => (await deadLettersOfJob(request, 'crm', crmJobId)).length).toBe(1);
      await expect(jobRow(page, 'track-signup-event')).toHaveAttribute('data-state', 'retrying');
      await expect(jobRow(page, 'send-welcome-email')).toHaveAttribute('data-state', 'done');
      await expect(page.getByTestId('avatar')).toBeVisible();
      await expectAccessible(page, 'status page');

      const link = /https?:\/\/\S+\/verify\/[A-Za-z0-9_-]+/.exec((await welcomeEmailTo(email)).body.text)?.[0];
      if (!link) throw new Error(`no verification link in the email to ${email}`);
      await page.goto(new URL(link).pathname);
      await expect(page.getByRole('button', { name: 'Confirm my email address' })).toBeVisible();
      await expectAccessible(page, 'email link page');

      await expireStatusLinks(user.id);
      await page.goto(user.statusPath);
      await expect(page.getByTestId('link-expired')).toBeVisible();
      await expectAccessible(page, 'expired status link');
    } finally {
      await setFault('all', { mode: 'up' });
      await discardDeadLettersOf(request, crmJobId);
    }
  });
});

test.describe('the admin pages', () => {
  test('login, health, dead letters, invitations, pending jobs and the job browser pass axe', async ({ page, request }) => {
    // Twenty axe runs of about 2 s each, more on a busy machine.
    test.setTimeout(150_000);
    // A dead letter, so the health page, the list and its detail page show one.
    await setFault('crm', { mode: 'reject' });
    const response = await request.post('/api/signups', { data: { name: 'Axe Admin', email: uniqueEmail('axe-admin') } });
    expect(response.status()).toBe(201);
    const { id: userId } = (await response.json()) as { id: string };
    const jobId = `sync-crm-contact-${userId}`;
    let deadLetter: DeadLetter | undefined;
    let hungJobId: string | undefined;
    await expect.poll(async () => (deadLetter = (await deadLettersOfJob(request, 'crm', jobId))[0]), { timeout: 30_000 }).toBeTruthy();
    await setFault('crm', { mode: 'up' });

    try {
      await page.goto('/admin/login');
      await expectAccessible(page, 'admin login');
      await page.getByLabel('User').fill(E2E.admin.user);
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert').filter({ hasText: 'Wrong user or password.' })).toBeVisible();
      await expectAccessible(page, 'admin login with its error');

      await logIn(page);
      await expect(page.getByTestId('queue-crm')).toBeVisible();
      await expect(page.getByTestId('fault-panel')).toBeVisible();
      await expectAccessible(page, 'admin health');

      await page.goto('/admin/dead-letters');
      await expect(page.getByTestId(`dead-letter-${deadLetter?.id}`)).toBeVisible();
      await expectAccessible(page, 'dead letters');
      await page.goto(`/admin/dead-letters/${deadLetter?.id}`);
      await expect(page.getByTestId('stack-trace')).toBeVisible();
      await expectAccessible(page, 'one dead letter');

      await page.goto('/admin/invites');
      await expectAccessible(page, 'invitations');
      await page.getByLabel('Workspace').fill('axe-check');
      await page.getByLabel('Email addresses').fill('someone@example.test\nnot-an-address');
      await page.getByRole('button', { name: 'Invite' }).click();
      await expect(page.getByRole('table', { name: 'Addresses to fix' })).toBeVisible();
      await expectAccessible(page, 'invitations with a refused list');

      await page.goto('/admin/jobs');
      await expectAccessible(page, 'pending jobs');
      // A CRM job hanging at the provider, so the page lists one, its Cancel form open. It is
      // cancelled within the CRM call's 10 s timeout, before the CRM's breaker counts a failure.
      await setFault('crm', { mode: 'hang' });
      const hung = await request.post('/api/signups', { data: { name: 'Axe Pending', email: uniqueEmail('axe-pending') } });
      expect(hung.status()).toBe(201);
      hungJobId = `sync-crm-contact-${((await hung.json()) as { id: string }).id}`;
      const pending = page.getByTestId(`pending-job-${hungJobId}`);
      await expect(async () => {
        await page.reload();
        await expect(pending).toBeVisible({ timeout: 1_000 });
      }).toPass({ timeout: 20_000 });
      await pending.getByRole('button', { name: 'Cancel…' }).click();
      await expect(pending.getByLabel('Reason (required)')).toBeFocused();
      await expectAccessible(page, 'pending jobs with a Cancel form open');
      await cancelAndDiscard(request, hungJobId);
      hungJobId = undefined;

      await page.goto('/admin/queues');
      await expect(page.getByText('crm', { exact: true }).first()).toBeVisible();
      await expectAccessible(page, 'bull-board', { disableRules: BULL_BOARD_OWN_VIOLATIONS });
      await page.goto('/admin/queues/queue/crm');
      await expect(page.getByText(jobId).first()).toBeVisible();
      await expectAccessible(page, "bull-board's CRM queue", { disableRules: BULL_BOARD_OWN_VIOLATIONS });
    } finally {
      await discardDeadLettersOf(request, jobId);
      if (hungJobId) await cancelAndDiscard(request, hungJobId);
    }
  });
});

/** Leaves no dead letter of the test's own behind, so the verdict of later specs is not theirs to explain. */
async function discardDeadLettersOf(request: APIRequestContext, jobId: string): Promise<void> {
  for (const letter of await deadLettersOfJob(request, 'crm', jobId)) {
    if (letter.resolution !== null) continue;
    const discarded = await request.delete(`/api/admin/dlq/${letter.id}`, {
      headers: ADMIN_HEADERS,
      data: { reason: 'test account' },
    });
    expect(discarded.status()).toBe(200);
  }
}

/** Cancels the hung CRM job and discards the dead letter the cancel leaves. */
async function cancelAndDiscard(request: APIRequestContext, jobId: string): Promise<void> {
  const cancelled = await request.post(`/api/admin/jobs/crm/${jobId}/cancel`, { headers: ADMIN_HEADERS, data: { reason: 'axe check' } });
  expect(cancelled.status()).toBe(200);
  await discardDeadLettersOf(request, jobId);
}
