import { queueAdminDeps, queueHealthRequest } from '@/app/_admin/queue-health/queue-health-requests';

export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return queueHealthRequest(request, queueAdminDeps());
}
