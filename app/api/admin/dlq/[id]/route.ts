import { webRuntime } from '@/app/_web/web-runtime';
import { discardDeadLetterRequest } from '@/app/_admin/dead-letters/dead-letter-requests';

export const dynamic = 'force-dynamic';

export async function DELETE(request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  return discardDeadLetterRequest(request, webRuntime(), (await params).id);
}
