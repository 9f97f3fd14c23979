// The operator's side of the mocks (docs/operations.md): health, fault switches, what each provider
// received, and reset. Tests, the demo and the E2E suite drive the providers only through these.
// All but /__health need the token when one is set: probes cannot send it, and it reveals nothing.
import { faultRequestSchema } from './fault-modes';
import { HttpError, readJson, sendJson, validate, type Route } from './http-exchange';
import { resetMockState } from './mock-state';
import { isProviderName, PROVIDER_NAMES } from '@/lib/providers';

// Fault bodies are a few fields; anything bigger is a mistake worth refusing early.
const CONTROL_BODY_LIMIT_BYTES = 16 * 1024;

export const controlRoutes: Route[] = [
  {
    method: 'GET',
    path: /^\/__health$/,
    handle: ({ res }) => sendJson(res, 200, { ok: true }),
  },
  {
    method: 'GET',
    path: /^\/__faults$/,
    requiresToken: true,
    handle: ({ res, state }) => sendJson(res, 200, state.faults.snapshot()),
  },
  {
    method: 'PUT',
    path: /^\/__faults\/([^/]+)$/,
    requiresToken: true,
    async handle({ req, res, state }, [target = '']) {
      if (target !== 'all' && !isProviderName(target)) {
        throw new HttpError(400, `unknown provider "${target}"; expected all, ${PROVIDER_NAMES.join(', ')}`);
      }
      state.faults.set(target, validate(faultRequestSchema, await readJson(req, CONTROL_BODY_LIMIT_BYTES), 'fault'));
      sendJson(res, 200, state.faults.snapshot());
    },
  },
  {
    method: 'GET',
    path: /^\/__inspect\/([^/]+)$/,
    requiresToken: true,
    async handle({ res, state }, [provider = '']) {
      if (!isProviderName(provider)) throw new HttpError(404, `unknown provider "${provider}"`);
      sendJson(res, 200, await state.records.inspect(provider));
    },
  },
  {
    method: 'POST',
    path: /^\/__reset$/,
    requiresToken: true,
    handle({ res, state }) {
      resetMockState(state);
      sendJson(res, 200, { ok: true });
    },
  },
];
