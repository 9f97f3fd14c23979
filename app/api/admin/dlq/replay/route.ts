import { webRuntime } from '@/app/_web/web-runtime';
import { replayDeadLettersRequest } from '@/app/_admin/dead-letters/dead-letter-requests';

export const dynamic = 'force-dynamic';

export function POST(request: Request): Promise<Response> {
  return replayDeadLettersRequest(request, webRuntime());
}
