// POST /api/signups/sync: the synchronous baseline, only where SYNC_BASELINE=on (the benchmark, the
// e2e suite, `npm start`'s demo); elsewhere it does not exist.
import { handleSyncSignupRequest } from '@/app/_signup/sync-signup';
import { webRuntime } from '@/app/_web/web-runtime';
import { config } from '@/lib/config';

export const dynamic = 'force-dynamic';

export async function POST(request: Request): Promise<Response> {
  if (!config().syncBaseline) return Response.json({ error: 'Not found.' }, { status: 404 });
  return handleSyncSignupRequest(request, webRuntime());
}
