// bull-board at /admin/queues: closed to strangers, and for an admin the page, its static files and
// its API all answer, read-only, through the route Next serves.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as route from '@/app/admin/queues/[[...path]]/route';
import { webRuntime } from '@/app/_web/web-runtime';
import { QUEUE_NAMES } from '@/lib/queues';

const ADMIN_AUTH = `Basic ${Buffer.from('admin:test-admin-password').toString('base64')}`;
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

function request(path: string, { method = 'GET', auth = ADMIN_AUTH, accept }: {
  method?: string;
  auth?: string | null;
  accept?: string;
} = {}): Request {
  const headers: Record<string, string> = { host: 'app.test' };
  if (auth) headers.authorization = auth;
  if (accept) headers.accept = accept;
  return new Request(`http://app.test${path}`, { method, headers });
}

beforeAll(async () => {
  // The producer connection refuses commands until it is ready (no offline queue).
  const { valkey } = webRuntime();
  if (valkey.status !== 'ready') await once(valkey, 'ready');
});
afterAll(async () => {
  const { valkey, db } = webRuntime();
  valkey.disconnect();
  await db.$disconnect();
});

describe('bull-board at /admin/queues', () => {
  describe('without credentials', () => {
    it('sends a browser opening the page to the login form', async () => {
      const response = await route.GET(request('/admin/queues', { auth: null, accept: BROWSER_ACCEPT }));
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/admin/login?next=/admin/queues');
    });

    it('answers 401 to the API, static files and every method', async () => {
      const refused = await Promise.all([
        route.GET(request('/admin/queues/api/queues', { auth: null, accept: 'application/json' })),
        route.GET(request('/admin/queues/static/images/logo.svg', { auth: null, accept: 'image/*' })),
        route.GET(request('/admin/queues', { auth: null })),
        route.PUT(request('/admin/queues/api/queues/crm/pause', { method: 'PUT', auth: null })),
        route.DELETE(request('/admin/queues/api/queues/crm/x', { method: 'DELETE', auth: null })),
      ]);
      expect(refused.map((response) => response.status)).toEqual([401, 401, 401, 401, 401]);
    });

    it('answers 401 to a wrong password, even from a browser that sends one', async () => {
      const wrong = `Basic ${Buffer.from('admin:wrong').toString('base64')}`;
      const response = await route.GET(request('/admin/queues/api/queues', { auth: wrong }));
      expect(response.status).toBe(401);
    });
  });

  describe('for an admin', () => {
    it('serves the page with its title, under the /admin/queues base, without Google Fonts', async () => {
      const response = await route.GET(request('/admin/queues', { accept: BROWSER_ACCEPT }));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await response.text();
      expect(html).toContain('<div id="root">');
      expect(html).toContain('<base href="/admin/queues/"');
      expect(html).toContain('<title>Signup Demo · jobs</title>');
      expect(html).not.toContain('fonts.googleapis.com');
    });

    it('serves the page for a job deep link too, so a reload there works', async () => {
      const response = await route.GET(request('/admin/queues/queue/crm/some-job', { accept: BROWSER_ACCEPT }));
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<div id="root">');
    });

    it('serves the static files the page links, with their content types', async () => {
      const html = await (await route.GET(request('/admin/queues'))).text();
      const script = /<script defer src="(static\/js\/main\.[^"]+\.js)"/.exec(html)?.[1];
      const stylesheet = /<link href="(static\/css\/main\.[^"]+\.css)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      expect(stylesheet).toBeDefined();

      const js = await route.GET(request(`/admin/queues/${script}`, { accept: '*/*' }));
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
      expect((await js.text()).length).toBeGreaterThan(1_000);

      const css = await route.GET(request(`/admin/queues/${stylesheet}`, { accept: 'text/css' }));
      expect(css.status).toBe(200);
      expect(css.headers.get('content-type')).toMatch(/^text\/css/);
      await css.body?.cancel();
    });

    it('refuses a path that climbs out of the static folder', async () => {
      const response = await route.GET(request('/admin/queues/static/..%2f..%2fpackage.json'));
      expect(response.status).toBe(404);
    });

    it('lists the four queues as JSON, read-only', async () => {
      const response = await route.GET(request('/admin/queues/api/queues', { accept: 'application/json' }));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as { queues: { name: string; readOnlyMode: boolean; allowRetries: boolean }[] };
      expect(body.queues.map((queue) => queue.name).sort()).toEqual([...QUEUE_NAMES].sort());
      expect(body.queues.every((queue) => queue.readOnlyMode && !queue.allowRetries)).toBe(true);
    });

    it('refuses to change a queue: retries go through the audited DLQ replay instead', async () => {
      const response = await route.PUT(request('/admin/queues/api/queues/crm/retry/failed', { method: 'PUT' }));
      expect(response.status).toBe(405);
    });
  });
});
