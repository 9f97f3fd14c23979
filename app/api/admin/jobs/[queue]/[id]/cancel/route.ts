import { cancelJobRequest } from '@/app/_admin/jobs/job-requests';
import { webRuntime } from '@/app/_web/web-runtime';
import { config } from '@/lib/config';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, { params }: { params: Promise<{ queue: string; id: string }> }): Promise<Response> {
  return cancelJobRequest(request, { ...webRuntime(), queuePrefix: config().queuePrefix }, await params);
}
