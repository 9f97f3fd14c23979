// The README's screenshots are taken by the suite, in real Chromium. They are rewritten in
// docs/screenshots only when asked (`UPDATE_SCREENSHOTS=1 npm run e2e`), so an ordinary run leaves
// the committed images alone; otherwise they land beside the other artifacts for inspection.
import type { Page } from '@playwright/test';

const directory = process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'e2e/.artifacts/screenshots';

export async function readmeScreenshot(page: Page, name: 'signup' | 'status' | 'admin-health' | 'admin-dead-letters') {
  await page.screenshot({ path: `${directory}/${name}.png` });
}
