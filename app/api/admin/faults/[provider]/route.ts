import { setFaultRequest } from '@/app/_admin/provider-fault-requests';
import { webRuntime } from '@/app/_web/web-runtime';

export const dynamic = 'force-dynamic';

export async function PUT(request: Request, { params }: { params: Promise<{ provider: string }> }): Promise<Response> {
  return setFaultRequest(request, webRuntime(), (await params).provider);
}
