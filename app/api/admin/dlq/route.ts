import { webRuntime } from '@/app/_web/web-runtime';
import { listDeadLettersRequest } from '@/app/_admin/dead-letters/dead-letter-requests';

export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return listDeadLettersRequest(request, webRuntime());
}
