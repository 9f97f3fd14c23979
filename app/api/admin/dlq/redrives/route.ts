import { webRuntime } from '@/app/_web/web-runtime';
import { listRedrivesRequest, startRedriveRequest } from '@/app/_admin/dead-letters/redrive-requests';

export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return listRedrivesRequest(request, webRuntime());
}

export function POST(request: Request): Promise<Response> {
  return startRedriveRequest(request, webRuntime());
}
