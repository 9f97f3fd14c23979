import { webRuntime } from '@/app/_web/web-runtime';
import { previewRedriveRequest } from '@/app/_admin/dead-letters/redrive-requests';

export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return previewRedriveRequest(request, webRuntime());
}
