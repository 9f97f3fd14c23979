// Per-tenant limits in the worker, as the health page shows them
// (docs/backpressure.md#3b-per-tenant-limits-in-the-worker): with the SMTP relay slowed, one
// workspace's hundred invitations are more than its 8 places in the email queue (the stack's
// default TENANT_LIMITS), so the email card lists it under "Waiting their turn" with jobs held
// back; once the relay is quick again the line drains, the table goes, and everyone has one email.
import { adminPage } from './support/admin-console';
import { expect, test } from './support/fixtures';
import { inspect, setFault } from './support/mock-providers';
import { readmeScreenshot } from './support/readme-screenshot';

const INVITES = 100;
/** The default cap of one tenant's running email jobs (lib/tenant-limit-settings.ts). */
const EMAIL_CAP = 8;

test("a workspace's bulk invitations wait their turn behind its cap, and the email card shows it", async ({ browser }) => {
  const workspace = `crowd-${Date.now().toString(36)}`;
  const addresses = Array.from({ length: INVITES }, (_, i) => `member-${i}@${workspace}.test`);
  // About 10 sends a second over the worker's pooled connections: the line lasts ~10 s.
  await setFault('smtp', { mode: 'slow', latencyMs: 600 });
  const admin = await adminPage(browser);

  try {
    await admin.getByRole('link', { name: 'Invitations' }).click();
    await admin.getByLabel('Workspace').fill(workspace);
    await admin.getByLabel('Email addresses').fill(addresses.join('\n'));
    await admin.getByRole('button', { name: 'Invite' }).click();
    await expect(admin.getByText(`Invited ${INVITES} (0 already invited) to ${workspace}.`)).toBeVisible();

    await admin.getByRole('link', { name: 'Health' }).click();
    const card = admin.getByTestId('queue-email');
    const waiting = card.getByRole('table', { name: 'email: tenants waiting their turn' });
    const row = waiting.getByRole('row').filter({ hasText: workspace });
    // The page polls the report every 2 s.
    await expect(row).toBeVisible({ timeout: 15_000 });
    await expect(waiting).toContainText('Waiting their turn (per-tenant limits)');
    const [, held, running] = (await row.getByRole('cell').allTextContents()).map((text) => Number(text.replace(/\D/g, '')));
    expect(held, 'jobs held back').toBeGreaterThan(0);
    expect(running, 'jobs running').toBeLessThanOrEqual(EMAIL_CAP);
    await readmeScreenshot(admin, 'admin-tenants-waiting', { of: card });

    await setFault('smtp', { mode: 'up' });
    // Held, not lost or doubled: everyone gets exactly one invitation.
    await expect
      .poll(
        async () => {
          const mails = (await inspect('smtp')) as Array<{ deliveries: number; body: { to: string[] } }>;
          return addresses.filter((address) => mails.filter((mail) => mail.body.to.includes(address)).map((mail) => mail.deliveries).join() !== '1').length;
        },
        { timeout: 30_000, message: 'addresses without exactly one invitation' },
      )
      .toBe(0);
    await expect(row).toHaveCount(0);
  } finally {
    await admin.context().close();
  }
});
