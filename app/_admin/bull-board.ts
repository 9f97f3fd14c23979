// bull-board at /admin/queues, for browsing individual jobs: their data, options, attempts, logs
// and stack traces. It reads the four queues through BullMQ over the web process's producer
// connection. The route (app/admin/queues/[[...path]]/route.ts) authenticates every request before
// it gets here.
//
// Read-only on purpose. A retry, removal, clean or "add job" from bull-board would change a queue
// without a row in the dead-letter audit log and behind the outbox's back; the audited way to run a
// failed job again is POST /api/admin/dlq/<id>/replay. `allowRetries: false` would not do instead:
// it only hides the button, and bull-board's retry endpoints do not check it (only `readOnlyMode`
// is enforced, in @bull-board/api's queue provider, answering 405).
import 'server-only';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { webRuntime } from '@/app/_web/web-runtime';

export const BULL_BOARD_PATH = '/admin/queues';

const BOARD_TITLE = 'Signup Demo · jobs';

// The page template links IBM Plex from Google Fonts, and no uiConfig option drops it. Offline the
// request fails (or, behind a firewall that drops packets, holds the render-blocking stylesheet
// until it times out), and online it tells Google who opens the admin page. Without it the CSS
// falls back to system-ui and ui-monospace, its own declared fallbacks.
const GOOGLE_FONTS_LINK = /<link\b[^>]*\bhref="https:\/\/fonts\.googleapis\.com\/[^"]*"[^>]*>\s*/g;

// Kept on globalThis so Next's dev reloads reuse one board instead of building another per edit.
const holder = globalThis as typeof globalThis & { __signupBullBoard?: Hono };

/** The board as a Hono app answering every path under BULL_BOARD_PATH, built once per process. */
export function bullBoard(): Hono {
  holder.__signupBullBoard ??= createBoard();
  return holder.__signupBullBoard;
}

function createBoard(): Hono {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: Object.values(webRuntime().queues).map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
    // @bull-board/hono 9.10.1 pins @bull-board/api 9.10.1, a second copy beside ours (9.10.2) whose
    // BaseAdapter is nominally different (private members); at run time the adapter uses none of it.
    serverAdapter,
    options: { uiConfig: { boardTitle: BOARD_TITLE } },
  });

  const app = new Hono();
  // The page is the only HTML the board sends; its template carries GOOGLE_FONTS_LINK.
  app.use('*', async (c, next) => {
    await next();
    if (!c.res.headers.get('content-type')?.startsWith('text/html')) return;
    const html = (await c.res.text()).replace(GOOGLE_FONTS_LINK, '');
    const headers = new Headers(c.res.headers);
    headers.delete('content-length');
    c.res = new Response(html, { status: c.res.status, headers });
  });
  app.route(BULL_BOARD_PATH, serverAdapter.registerPlugin());
  return app;
}
