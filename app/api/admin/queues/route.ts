import { queueHealthRequest } from '@/app/_admin/queue-health/queue-health-requests';
import { webRuntime } from '@/app/_web/web-runtime';

export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return queueHealthRequest(request, webRuntime());
}
