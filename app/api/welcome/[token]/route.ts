// GET /api/welcome/<token>: the status page's poll. The same SignupStatus the page renders first;
// 410 once the link has expired, 404 for a link that opens nothing.
// DELETE /api/welcome/<token>: deletes the account: 204, 404 unknown token, 503 database
// unavailable (app/_signup/delete-account.ts).
import { handleDeleteAccountRequest } from '@/app/_signup/delete-account';
import { signupStatus } from '@/app/_signup/signup-status';
import { webRuntime } from '@/app/_web/web-runtime';
import { errorSummary } from '@/lib/log';

export const dynamic = 'force-dynamic';

const NO_STORE = { 'cache-control': 'no-store' };

export async function GET(_request: Request, { params }: { params: Promise<{ token: string }> }): Promise<Response> {
  const { token } = await params;
  const runtime = webRuntime();
  let lookup;
  try {
    lookup = await signupStatus(token, runtime);
  } catch (error) {
    // signupStatus already answers without Valkey; only the database can fail it.
    runtime.log.warn('signup status unavailable', { error: errorSummary(error) });
    return Response.json(
      { error: 'The status is unavailable right now; try again in a moment.' },
      { status: 503, headers: { ...NO_STORE, 'retry-after': '5' } },
    );
  }
  if (lookup.state === 'unknown') return Response.json({ error: 'Unknown status token.' }, { status: 404, headers: NO_STORE });
  if (lookup.state === 'expired') {
    return Response.json({ error: 'This status link has expired; its page can email a new one.' }, { status: 410, headers: NO_STORE });
  }
  return Response.json(lookup.status, { headers: NO_STORE });
}

export async function DELETE(_request: Request, { params }: { params: Promise<{ token: string }> }): Promise<Response> {
  const { token } = await params;
  return handleDeleteAccountRequest(token, webRuntime());
}
