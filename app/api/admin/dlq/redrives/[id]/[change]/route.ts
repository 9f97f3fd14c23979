import { webRuntime } from '@/app/_web/web-runtime';
import { changeRedriveRequest } from '@/app/_admin/dead-letters/redrive-requests';

export const dynamic = 'force-dynamic';

/** POST …/redrives/<id>/pause, /resume or /cancel. */
export async function POST(request: Request, { params }: { params: Promise<{ id: string; change: string }> }): Promise<Response> {
  const { id, change } = await params;
  return changeRedriveRequest(request, webRuntime(), id, change);
}
