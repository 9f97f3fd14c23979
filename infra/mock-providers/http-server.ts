// The HTTP side of the mocks: one node:http server carrying the control routes and the four HTTP
// providers. It only dispatches; what each path means lives in control-routes and provider-routes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { controlRoutes } from './control-routes';
import { HttpError, sendError, type Route } from './http-exchange';
import type { MockState } from './mock-state';
import { providerRoutes } from './provider-routes';

const ROUTES: readonly Route[] = [...controlRoutes, ...providerRoutes];

export function createHttpServer(state: MockState): Server {
  return createServer((req, res) => void dispatch(state, req, res));
}

async function dispatch(state: MockState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const { pathname } = new URL(req.url ?? '/', 'http://mock.invalid');
    const onPath = ROUTES.filter((route) => route.path.test(pathname));
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
