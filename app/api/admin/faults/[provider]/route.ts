import { providerFaultDeps, setFaultRequest } from '@/app/_admin/provider-fault-requests';

export const dynamic = 'force-dynamic';

export async function PUT(request: Request, { params }: { params: Promise<{ provider: string }> }): Promise<Response> {
  return setFaultRequest(request, providerFaultDeps(), (await params).provider);
}
