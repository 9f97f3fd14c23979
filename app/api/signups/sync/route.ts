import { handleSyncSignupRequest } from '@/app/_signup/sync-signup';
import { webRuntime } from '@/app/_web/web-runtime';

export const dynamic = 'force-dynamic';

export function POST(request: Request): Promise<Response> {
  return handleSyncSignupRequest(request, webRuntime());
}
