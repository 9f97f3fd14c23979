import { queueAdminDeps, resumeQueueRequest } from '@/app/_admin/queue-health/queue-health-requests';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, { params }: { params: Promise<{ queue: string }> }): Promise<Response> {
  return resumeQueueRequest(request, queueAdminDeps(), (await params).queue);
}
