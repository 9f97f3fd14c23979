import { handleInviteRequest } from '@/app/_workspaces/invite-request';
import { webRuntime } from '@/app/_web/web-runtime';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, { params }: { params: Promise<{ slug: string }> }): Promise<Response> {
  return handleInviteRequest(request, (await params).slug, webRuntime());
}
