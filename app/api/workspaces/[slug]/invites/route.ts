import { handleInviteRequest } from '@/app/_workspaces/invite-request';
import { inviteDeps } from '@/app/_workspaces/invite-runtime';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, { params }: { params: Promise<{ slug: string }> }): Promise<Response> {
  return handleInviteRequest(request, (await params).slug, inviteDeps());
}
