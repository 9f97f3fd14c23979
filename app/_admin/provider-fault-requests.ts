// The provider faults panel's API: reads and sets the mock providers' fault modes
// (docs/operations.md, "Mock providers") from the admin page, so a demo can take the CRM down
// without a terminal. Only admins, and state changes only from this site (admin-auth.ts). When the
// mocks are not running, as against real providers, it answers 503 {available: false} and the panel
// hides itself. It sends MOCKS_TOKEN, which the mocks require when set; a refused token is a 502.
import 'server-only';
import { z } from 'zod';
import { badRequest, fieldErrorsOf } from '@/app/_web/bad-request';
import { authenticateAdmin, type AdminCredentials } from '@/app/_admin/auth/admin-auth';
import { controlHeaders, faultRequestSchema } from '@/infra/mock-providers/fault-control';
import { PROVIDER_NAMES } from '@/lib/providers';

export interface ProviderFaultDeps {
  admin: AdminCredentials;
  /** The mock providers' HTTP base, e.g. http://127.0.0.1:4010. */
  mocksUrl: string;
  /** MOCKS_TOKEN, sent to the mocks when set: their control routes then answer nothing else. */
  mocksToken?: string | undefined;
}

/** The mocks answer at once on this machine; a host that swallows packets must not hold the page. */
const MOCKS_TIMEOUT_MS = 2_000;

const faultTarget = z.enum(['all', ...PROVIDER_NAMES]);

export async function listFaultsRequest(request: Request, deps: ProviderFaultDeps): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;
  return relay(await callMocks(deps, '/__faults', { method: 'GET' }));
}

export async function setFaultRequest(request: Request, deps: ProviderFaultDeps, provider: string | undefined): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;
  const target = faultTarget.safeParse(provider);
  if (!target.success) return invalid(target.error, `provider must be one of ${faultTarget.options.join(', ')}`);
  // The mocks' own schema: whatever passes here, they accept.
  const fault = faultRequestSchema.safeParse(await readJson(request));
  if (!fault.success) return invalid(fault.error, 'send {mode, latencyMs?, failureRate?, retryAfterSeconds?}');
  return relay(
    await callMocks(deps, `/__faults/${target.data}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(fault.data),
    }),
  );
}

/** The mocks' answer, or undefined when nothing answers there (refused, reset, timed out). */
async function callMocks(
  deps: ProviderFaultDeps,
  path: string,
  init: { method: string; headers?: Record<string, string>; body?: string },
): Promise<Response | undefined> {
  try {
    return await fetch(`${deps.mocksUrl}${path}`, {
      ...init,
      headers: { ...init.headers, ...controlHeaders(deps.mocksToken) },
      signal: AbortSignal.timeout(MOCKS_TIMEOUT_MS),
    });
  } catch {
    return undefined;
  }
}

async function relay(answer: Response | undefined): Promise<Response> {
  const headers = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  if (!answer) return Response.json({ available: false }, { status: 503, headers });
  // The admin is already let in: a 401 from the mocks is this server's MOCKS_TOKEN refused, a
  // configuration fault to report as such, not a sign-out for the browser to act on.
  if (answer.status === 401) {
    const error = "the mock providers refused this server's MOCKS_TOKEN; give the web and the mocks the same one";
    return Response.json({ error }, { status: 502, headers });
  }
  return new Response(await answer.text(), { status: answer.status, headers });
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    return undefined;
  }
}

function invalid(error: z.ZodError, hint: string): Response {
  return badRequest(fieldErrorsOf(error), { error: hint });
}
