import { listFaultsRequest } from '@/app/_admin/provider-fault-requests';
import { webRuntime } from '@/app/_web/web-runtime';

export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return listFaultsRequest(request, webRuntime());
}
