import { pauseQueueRequest } from '@/app/_admin/queue-health/queue-health-requests';
import { webRuntime } from '@/app/_web/web-runtime';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, { params }: { params: Promise<{ queue: string }> }): Promise<Response> {
  return pauseQueueRequest(request, webRuntime(), (await params).queue);
}
