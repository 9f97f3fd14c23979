// The admin area refuses a visitor: its pages send them to the login form, its API answers 401
// without credentials and with a wrong password. (The login form's own refusal of a wrong password
// is in admin.spec.ts.)
import { ADMIN_HEADERS } from './support/admin-console';
import { E2E } from './support/e2e-environment';
import { expect, test } from './support/fixtures';

test('a visitor without a login is sent to the login form and refused by the API', async ({ page, request }) => {
  for (const path of ['/admin', '/admin/dead-letters', '/admin/queues']) {
    await page.goto(path);
    await expect(page, path).toHaveURL(/\/admin\/login(\?next=.*)?$/);
    await expect(page.getByLabel('Password')).toBeVisible();
  }

  for (const path of ['/api/admin/queues', '/api/admin/dlq']) {
    expect((await request.get(path)).status(), `${path} without credentials`).toBe(401);
  }
  const wrongPassword = `Basic ${Buffer.from(`${E2E.admin.user}:not-the-password`).toString('base64')}`;
  expect((await request.get('/api/admin/dlq', { headers: { authorization: wrongPassword } })).status()).toBe(401);
  expect((await request.post('/api/admin/dlq/replay', { data: { queue: 'crm' } })).status()).toBe(401);

  // The same request with the right password is answered: the refusals above were about the login.
  expect((await request.get('/api/admin/dlq', { headers: ADMIN_HEADERS })).status()).toBe(200);
});
