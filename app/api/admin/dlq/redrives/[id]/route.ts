import { webRuntime } from '@/app/_web/web-runtime';
import { getRedriveRequest } from '@/app/_admin/dead-letters/redrive-requests';

export const dynamic = 'force-dynamic';

export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  return getRedriveRequest(request, webRuntime(), (await params).id);
}
