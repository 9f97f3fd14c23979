// Every page and route carries the security headers (lib/security-headers.ts), and they hold in a
// real browser: no other site can frame the signup form, while the app's own pages, which the rest
// of this suite drives, still work under the Content-Security-Policy.
import { E2E } from './support/e2e-environment';
import { expect, test } from './support/fixtures';

const EXPECTED = {
  'content-security-policy': /frame-ancestors 'none'/,
  'x-frame-options': /^DENY$/,
  'x-content-type-options': /^nosniff$/,
  'referrer-policy': /^same-origin$/,
  'strict-transport-security': /^max-age=\d+/,
};

test('pages, API routes and static files carry the security headers', async ({ request }) => {
  const signup = await request.get(`${E2E.baseUrl}/signup`);
  const page = await signup.text();
  const script = /src="(\/_next\/static\/[^"]+\.js)"/.exec(page)?.[1];
  expect(script).toBeDefined();
  for (const path of ['/signup', '/api/health', script ?? '', '/admin/login']) {
    const response = await request.get(`${E2E.baseUrl}${path}`, { maxRedirects: 0 });
    for (const [name, value] of Object.entries(EXPECTED)) expect(response.headers()[name], `${path}: ${name}`).toMatch(value);
    expect(response.headers()['content-security-policy'], path).toContain("object-src 'none'");
  }
});

test('another site cannot frame the signup form', async ({ page }) => {
  await page.setContent(`<iframe id="framed" src="${E2E.baseUrl}/signup" width="800" height="600"></iframe>`);
  // The parent's load event waits for its frames: by then the form would be there, had the app
  // let itself be framed. Chromium shows its own error page in the frame instead.
  await page.waitForLoadState('load');
  await expect(page.frameLocator('#framed').locator('input[name="email"]')).toHaveCount(0);
});
