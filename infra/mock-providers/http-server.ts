// The HTTP side of the mocks: one node:http server (node:https with a certificate) carrying the
// control routes and the four HTTP providers. It only dispatches, checking MOCKS_TOKEN and
// MOCKS_API_KEY first where a route asks (control-auth.ts); what each path means lives in
// control-routes, provider-routes and erasure-routes.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { requireApiKey, requireControlToken } from './control-auth';
import { controlRoutes } from './control-routes';
import { HttpError, sendError, type Route } from './http-exchange';
import type { MockState } from './mock-state';
import { providerRoutes } from './provider-routes';
import { erasureRoutes } from './erasure-routes';

const ROUTES: readonly Route[] = [...controlRoutes, ...providerRoutes, ...erasureRoutes];

export interface HttpServerOptions {
  /** MOCKS_TOKEN, which the control and inspect routes then require. */
  token?: string;
  /** MOCKS_API_KEY, which the provider routes then require. */
  apiKey?: string;
  /** PEM key and certificate: the server speaks HTTPS only. */
  tls?: { key: string; cert: string };
}

export function createHttpServer(state: MockState, options: HttpServerOptions = {}): Server {
  const listener: RequestListener = (req, res) => void dispatch(state, options, req, res);
  return options.tls ? createTlsServer(options.tls, listener) : createServer(listener);
}

async function dispatch(state: MockState, { token, apiKey }: HttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const { pathname } = new URL(req.url ?? '/', 'http://mock.invalid');
    const onPath = ROUTES.filter((route) => route.path.test(pathname));
    // Before the method is matched, so a stranger learns not even which methods a control path takes.
    if (onPath.some((route) => route.requiresToken)) requireControlToken(req, token);
    if (onPath.some((route) => route.requiresApiKey)) requireApiKey(req, apiKey);
    const route = onPath.find((candidate) => candidate.method === req.method);
    if (!route) {
      if (onPath.length === 0) throw new HttpError(404, `no route for ${req.method ?? '?'} ${pathname}`);
      const allow = onPath.map((candidate) => candidate.method).join(', ');
      throw new HttpError(405, `${req.method ?? '?'} not allowed on ${pathname}`, { allow });
    }
    const params = (route.path.exec(pathname) ?? []).slice(1).map((param) => decodePathParam(param));
    await route.handle({ req, res, state }, params);
  } catch (error) {
    if (res.headersSent || state.closing.aborted) {
      res.destroy();
      return;
    }
    if (error instanceof HttpError) {
      sendError(res, error.status, error.message, error.headers);
      return;
    }
    console.error('[mocks] http request failed', error);
    sendError(res, 500, 'mock provider failed; see its log');
  }
}

function decodePathParam(param: string | undefined): string {
  try {
    return decodeURIComponent(param ?? '');
  } catch {
    throw new HttpError(400, 'malformed percent-encoding in path');
  }
}
