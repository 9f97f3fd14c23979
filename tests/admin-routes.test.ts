// Every route under app/admin and app/api/admin is closed to strangers, including routes added
// after this test was written: it finds them on disk, and proves each one three ways. So is the
// workspace invitations API, which takes the admin's credentials because it mails whole lists. The proxy's
// matcher covers its path; the proxy refuses it without credentials; and the route itself refuses
// too (a route handler answers 401 or sends to the login page; a page redirects to the login page
// through requireAdminPage), so a matcher mistake alone never opens it.
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ProxyMatcher } from 'next/dist/build/analysis/get-page-static-info';
import { getMiddlewareRouteMatcher } from 'next/dist/shared/lib/router/utils/middleware-route-matcher';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { LOGIN_FAILURES_PER_MINUTE } from '@/app/_admin/auth/login-throttle';
import { config } from '@/lib/config';
import { config as proxyConfig, adminGate } from '@/proxy';

// The routes' wrong guesses spend from the login budgets in Valkey (login-throttle.ts), whose
// account and global budgets last an hour: a prefix of this file's own keeps them out of other
// runs' budgets. The keys expire by themselves once their budgets are full again.
vi.hoisted(() => {
  process.env.QUEUE_PREFIX = `test-${crypto.randomUUID()}`;
});

// Pages read cookies through next/headers, which only works inside a Next request: here the
// stranger has none.
vi.mock('next/headers', () => ({
  cookies: async () => ({ get: () => undefined, getAll: () => [], has: () => false }),
  headers: async () => new Headers({ host: 'app.test' }),
}));

// Next's own compilation of a proxy matcher into the regular expressions it routes with; exported by
// its build module but missing from its type declarations.
const { getMiddlewareMatchers } = createRequire(import.meta.url)('next/dist/build/analysis/get-page-static-info') as {
  getMiddlewareMatchers: (matcher: string | string[], nextConfig: Record<string, never>) => ProxyMatcher[];
};

const ADMIN = { user: 'admin', password: 'correct horse battery staple' };
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const LOGIN_PAGE = '/admin/login';

interface Entry {
  kind: 'page' | 'route';
  file: string;
  /** The URL path of one instance of the route, dynamic segments filled in. */
  urlPath: string;
  params: Record<string, string | string[]>;
}

/** Every page and route handler under the given app directories, each with sample paths. */
function adminEntries(...roots: string[]): Entry[] {
  return roots.flatMap((root) =>
    readdirSync(path.resolve(root), { recursive: true, encoding: 'utf8' })
      .map((file) => path.join(root, file))
      .flatMap((file) => {
        const match = /^(page|route)\.(tsx|ts|jsx|js)$/.exec(path.basename(file));
        if (!match) return [];
        const segments = path.relative('app', path.dirname(file)).split(path.sep);
        // Folders starting with _ are private to the app, not routes.
        if (segments.some((segment) => segment.startsWith('_'))) return [];
        return samples(segments).map((sample) => ({ kind: match[1] as Entry['kind'], file, ...sample }));
      }),
  );
}

/** Sample URL paths for a route's folder segments: [id] is 1, [...rest] and [[...rest]] are a/b, [[...rest]] is also nothing. */
function samples(segments: string[]): Array<Pick<Entry, 'urlPath' | 'params'>> {
  let results: Array<{ parts: string[]; params: Entry['params'] }> = [{ parts: [], params: {} }];
  for (const segment of segments) {
    // Route groups and parallel-route slots are not part of the URL.
    if (/^\(.*\)$/.test(segment) || segment.startsWith('@')) continue;
    const optionalCatchAll = /^\[\[\.\.\.(.+)\]\]$/.exec(segment);
    const catchAll = /^\[\.\.\.(.+)\]$/.exec(segment);
    const dynamic = /^\[(.+)\]$/.exec(segment);
    results = results.flatMap(({ parts, params }) => {
      if (optionalCatchAll?.[1]) {
        return [
          { parts, params },
          { parts: [...parts, 'a', 'b'], params: { ...params, [optionalCatchAll[1]]: ['a', 'b'] } },
        ];
      }
      if (catchAll?.[1]) return [{ parts: [...parts, 'a', 'b'], params: { ...params, [catchAll[1]]: ['a', 'b'] } }];
      if (dynamic?.[1]) return [{ parts: [...parts, '1'], params: { ...params, [dynamic[1]]: '1' } }];
      return [{ parts: [...parts, segment], params }];
    });
  }
  return results.map(({ parts, params }) => ({ urlPath: `/${parts.join('/')}`, params }));
}

function strangerRequest(method: string, urlPath: string, { auth, client = '203.0.113.9' }: { auth?: string; client?: string } = {}): Request {
  const headers = new Headers({ host: 'app.test', accept: '*/*', 'x-forwarded-for': client });
  if (auth) headers.set('authorization', auth);
  const hasBody = method !== 'GET' && method !== 'HEAD';
  if (hasBody) headers.set('content-type', 'application/json');
  return new Request(`http://app.test${urlPath}`, { method, headers, body: hasBody ? '{}' : undefined });
}

/** The path and query a redirect points at, relative or absolute. */
function redirectPath(response: Response): string | undefined {
  const location = response.headers.get('location');
  if (response.status < 300 || response.status >= 400 || location === null) return undefined;
  return new URL(location, 'http://app.test').pathname;
}

/** The target of next/navigation's redirect(), which throws an error whose digest carries it. */
function thrownRedirect(error: unknown): string | undefined {
  const digest = (error as { digest?: unknown } | undefined)?.digest;
  if (typeof digest !== 'string' || !digest.startsWith('NEXT_REDIRECT;')) return undefined;
  return new URL(digest.split(';')[2] ?? '', 'http://app.test').pathname;
}

/** Admin-only APIs outside app/api/admin. */
const OTHER_ADMIN_APIS = ['app/api/workspaces/[slug]/invites'];

const entries = adminEntries('app/admin', 'app/api/admin', ...OTHER_ADMIN_APIS);
const isApi = (entry: Entry) => entry.urlPath.startsWith('/api/');
const label = (entry: Entry) => `${entry.file} as ${entry.urlPath}`;
const refusable = entries.filter((entry) => entry.urlPath !== LOGIN_PAGE);

describe('every route under app/admin and app/api/admin, and the invitations API', () => {
  beforeEach(() => {
    vi.clearAllMocks();
  });

  it('are found on disk: the DLQ API, the invitations API and page, the job browser, the login and logout', () => {
    const paths = entries.map((entry) => entry.urlPath);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/admin/dlq',
        '/api/admin/dlq/1',
        '/api/admin/dlq/1/replay',
        '/api/admin/dlq/replay',
        '/api/workspaces/1/invites',
        '/admin/invites',
        LOGIN_PAGE,
        '/admin/logout',
      ]),
    );
  });

  it.each(entries.map((entry) => [label(entry), entry] as const))('%s is covered by the proxy matcher', (_label, entry) => {
    const matches = getMiddlewareRouteMatcher(getMiddlewareMatchers(proxyConfig.matcher, {}));
    expect(matches(entry.urlPath, { headers: {} } as never, {})).toBe(true);
  });

  it.each(refusable.map((entry) => [label(entry), entry] as const))(
    '%s is refused by the proxy without credentials',
    (_label, entry) => {
      for (const method of METHODS) {
        const response = adminGate(strangerRequest(method, entry.urlPath), { admin: ADMIN });
        if (isApi(entry)) {
          expect(response?.status, method).toBe(401);
        } else {
          expect(response && redirectPath(response), method).toBe(LOGIN_PAGE);
        }
      }
    },
  );

  const routes = refusable.filter((entry) => entry.kind === 'route');
  it.each(routes.map((entry) => [label(entry), entry] as const))(
    '%s answers every method it exports with 401 or the login page, by itself',
    async (_label, entry) => {
      const module = (await import(path.resolve(entry.file))) as Record<string, unknown>;
      const methods = METHODS.filter((method) => typeof module[method] === 'function');
      expect(methods.length).toBeGreaterThan(0);
      for (const method of methods) {
        const handler = module[method] as (request: Request, context: { params: Promise<Entry['params']> }) => Promise<Response> | Response;
        const response = await handler(strangerRequest(method, entry.urlPath), { params: Promise.resolve(entry.params) });
        const toLogin = entry.urlPath.startsWith('/admin') && redirectPath(response) === LOGIN_PAGE;
        expect(response.status === 401 || toLogin, `${method} answered ${response.status}`).toBe(true);
      }
    },
  );

  const apiRoutes = routes.filter(isApi);
  it.each(apiRoutes.map((entry) => [label(entry), entry] as const))(
    '%s throttles wrong Basic credentials per address, by itself',
    async (_label, entry) => {
      const module = (await import(path.resolve(entry.file))) as Record<string, unknown>;
      const admin = config().admin;
      const basic = (password: string) => `Basic ${Buffer.from(`${admin.user}:${password}`).toString('base64')}`;
      for (const method of METHODS.filter((name) => typeof module[name] === 'function')) {
        const handler = module[method] as (request: Request, context: { params: Promise<Entry['params']> }) => Promise<Response> | Response;
        const call = (auth: string, client: string) =>
          handler(strangerRequest(method, entry.urlPath, { auth, client }), { params: Promise.resolve(entry.params) });
        const client = `throttle-${randomUUID()}`;
        for (let attempt = 0; attempt < LOGIN_FAILURES_PER_MINUTE; attempt += 1) {
          expect((await call(basic('guess'), client)).status, method).toBe(401);
        }
        // Refused before the route does anything, so the right password reveals nothing.
        expect((await call(basic(admin.password ?? ''), client)).status, method).toBe(429);
      }
    },
  );

  const pages = refusable.filter((entry) => entry.kind === 'page');
  it.each(pages.map((entry) => [label(entry), entry] as const))(
    '%s redirects a stranger to the login page, by itself',
    async (_label, entry) => {
      const module = (await import(path.resolve(entry.file))) as { default: (props: unknown) => unknown };
      const refusal = await Promise.resolve()
        .then(() => module.default({ params: Promise.resolve(entry.params), searchParams: Promise.resolve({}) }))
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(thrownRedirect(refusal)).toBe(LOGIN_PAGE);
    },
  );

  it('lets strangers reach the login page', () => {
    expect(adminGate(strangerRequest('GET', LOGIN_PAGE), { admin: ADMIN })).toBeUndefined();
  });
});
