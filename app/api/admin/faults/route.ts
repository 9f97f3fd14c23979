import { listFaultsRequest, providerFaultDeps } from '@/app/_admin/provider-fault-requests';

export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return listFaultsRequest(request, providerFaultDeps());
}
