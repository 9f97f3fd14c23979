import { pauseQueueRequest, queueAdminDeps } from '@/app/_admin/queue-health/queue-health-requests';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, { params }: { params: Promise<{ queue: string }> }): Promise<Response> {
  return pauseQueueRequest(request, queueAdminDeps(), (await params).queue);
}
