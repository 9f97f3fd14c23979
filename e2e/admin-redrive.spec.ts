// A redrive from the dead-letter page (docs/failure-model.md#redrives): the analytics provider
// refuses a dozen signup events for good, which show as one line under "Unresolved, by failure";
// that line's filter previews the count, "Replay 12 matching…" asks for a confirmation, the
// workers replay them in batches (paused and resumed here), the panel follows them to done, and
// every letter ends replayed with its event sent once.
import type { APIRequestContext } from '@playwright/test';
import { ADMIN_HEADERS, adminPage, deadLettersOfJob, type DeadLetter } from './support/admin-console';
import { expect, test } from './support/fixtures';
import { recordsFor, setFault } from './support/mock-providers';
import { readmeScreenshot } from './support/readme-screenshot';
import { uniqueEmail } from './support/signup-flow';

/** More than one batch at the stack's REPLAY_PER_SECOND of 2 (a batch is 5 s of replays: 10). */
const USERS = 12;

test('an operator redrives a dozen refused analytics events, pausing and resuming on the way', async ({ browser, request }) => {
  // Only this spec's letters: the list and the redrive are narrowed to those failed from now on.
  const since = new Date().toISOString();
  await setFault('analytics', { mode: 'reject' });
  const userIds: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const response = await request.post('/api/signups', { data: { name: 'Redrive Walk', email: uniqueEmail(`redrive-${i}`) } });
    expect(response.status()).toBe(201);
    userIds.push(((await response.json()) as { id: string }).id);
  }
  const lettersOf = () => Promise.all(userIds.map(async (id) => (await deadLettersOfJob(request, 'analytics', `track-signup-event-${id}`))[0]));
  await expect.poll(async () => (await lettersOf()).filter(Boolean).length, { timeout: 30_000 }).toBe(USERS);
  await setFault('analytics', { mode: 'up' });

  const admin = await adminPage(browser);
  try {
    const panel = admin.getByTestId('redrive-panel');
    await test.step('the failure shows as one line; its filter previews the count', async () => {
      await admin.goto(`/admin/dead-letters?queue=analytics&after=${encodeURIComponent(since)}`);
      const group = admin.getByTestId('failure-groups').getByRole('row').filter({ hasText: 'analytics' }).filter({ hasText: 'answered 422' });
      await expect(group).toHaveCount(1);
      expect(Number(await group.getByRole('cell').first().textContent())).toBeGreaterThanOrEqual(USERS);
      await group.getByRole('link').click();
      await expect(admin).toHaveURL(/fingerprint=/);
      await expect(panel).toContainText(`${USERS} unresolved failed dead letters match the filters above.`);
    });

    const progress = panel.locator('[data-testid^="redrive-"][data-status]');
    await test.step('"Replay 12 matching…" asks first, then starts; Pause holds the rest back', async () => {
      await panel.getByRole('button', { name: `Replay ${USERS} matching…` }).click();
      const confirm = panel.getByRole('alertdialog', { name: `Replay ${USERS} dead letters?` });
      await expect(confirm).toContainText('2 jobs per second');
      await confirm.getByRole('button', { name: `Replay ${USERS}` }).click();
      await expect(progress).toHaveAttribute('data-status', 'running');

      // Within a second of the start: the second batch is 5 s away, so some letters are left.
      await panel.getByRole('button', { name: 'Pause' }).click();
      await expect(progress).toHaveAttribute('data-status', 'paused');
      await expect(progress).toContainText('paused by admin');
      expect(unresolved(await lettersOf()).length).toBeGreaterThan(0);
    });

    await test.step('Resume lets the workers finish; the panel follows them to done', async () => {
      await panel.getByRole('button', { name: 'Resume' }).click();
      await expect(progress).toHaveAttribute('data-status', 'running');
      // The first batch out, the second due in 5 s: the panel mid-way.
      await expect(progress).toContainText(`10 of ${USERS}`, { timeout: 15_000 });
      await admin.mouse.move(0, 0);
      await readmeScreenshot(admin, 'admin-redrive');
      await expect(progress).toHaveAttribute('data-status', 'done', { timeout: 20_000 });
      await expect(progress).toContainText(`${USERS} of ${USERS}`);
      await expect(panel).toContainText('0 unresolved failed dead letters match');
      await expect(panel.getByRole('button', { name: 'Replay 0 matching…' })).toBeDisabled();
    });

    await test.step('every letter is resolved as replayed, and each event reached analytics once', async () => {
      expect(unresolved(await lettersOf())).toEqual([]);
      expect((await lettersOf()).map((letter) => letter?.resolution)).toEqual(userIds.map(() => 'replayed'));
      await expectEachEventOnce(userIds);
      await expect(admin.getByTestId('audit-log')).toContainText(/redrive #\d+/);
    });
  } finally {
    await admin.context().close();
    await discardLeftovers(request, userIds);
  }
});

function unresolved(letters: Array<DeadLetter | undefined>): DeadLetter[] {
  return letters.filter((letter): letter is DeadLetter => letter !== undefined && letter.resolution === null);
}

async function expectEachEventOnce(userIds: string[]): Promise<void> {
  const deliveries = () => Promise.all(userIds.map(async (id) => (await recordsFor('analytics', id)).map((record) => record.deliveries)));
  await expect.poll(deliveries, { timeout: 30_000 }).toEqual(userIds.map(() => [1]));
}

/** A failed run leaves no unresolved letter of its own to hold later verdicts at degraded. */
async function discardLeftovers(request: APIRequestContext, userIds: string[]): Promise<void> {
  for (const id of userIds) {
    for (const letter of await deadLettersOfJob(request, 'analytics', `track-signup-event-${id}`)) {
      if (letter.resolution !== null) continue;
      await request.delete(`/api/admin/dlq/${letter.id}`, { headers: ADMIN_HEADERS, data: { reason: 'left by a failed e2e run' } });
    }
  }
}
