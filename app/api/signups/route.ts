import { handleSignupRequest } from '@/app/_signup/signup-request';
import { webRuntime } from '@/app/_web/web-runtime';

export const dynamic = 'force-dynamic';

export function POST(request: Request): Promise<Response> {
  return handleSignupRequest(request, webRuntime());
}
