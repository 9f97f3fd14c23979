import { webRuntime } from '@/app/_web/web-runtime';
import { replayDeadLettersRequest } from '@/app/_admin/dead-letters/dead-letter-requests';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  return replayDeadLettersRequest(request, webRuntime(), (await params).id);
}
