// The README's screenshots are taken by the suite, in real Chromium. They are rewritten in
// docs/screenshots only when asked (`UPDATE_SCREENSHOTS=1 npm run e2e`), so an ordinary run leaves
// the committed images alone; otherwise they land beside the other artifacts for inspection.
import type { Locator, Page } from '@playwright/test';

const directory = process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'e2e/.artifacts/screenshots';

/** The pictures the README and docs/ show, each taken by the spec that asserts what it shows. */
export type ReadmeScreenshot =
  | 'signup'
  | 'status-filling-in'
  | 'status-crm-down'
  | 'admin-health'
  | 'admin-dead-letters'
  | 'admin-invites'
  | 'admin-bull-board'
  | 'admin-jobs-cancel'
  | 'admin-redrive'
  | 'admin-tenants-waiting';

/** The viewport, or only `of` where the page around it would say nothing of what the picture shows. */
export async function readmeScreenshot(page: Page, name: ReadmeScreenshot, { of }: { of?: Locator } = {}) {
  const path = `${directory}/${name}.png`;
  await (of ? of.screenshot({ path }) : page.screenshot({ path }));
}
