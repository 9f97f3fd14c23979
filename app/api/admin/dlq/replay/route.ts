import { deadLetterDeps } from '@/app/_admin/admin-runtime';
import { replayDeadLettersRequest } from '@/app/_admin/dead-letters/dead-letter-requests';

export const dynamic = 'force-dynamic';

export function POST(request: Request): Promise<Response> {
  return replayDeadLettersRequest(request, deadLetterDeps());
}
