// POST /api/welcome/<token>/verification-email: "resend verification email" for scripts and the
// API. 202 accepted, 429 with Retry-After while a wait runs, 409 already confirmed, 404 unknown
// token, 503 database unavailable (app/_signup/resend-verification.ts).
import { handleResendVerificationRequest } from '@/app/_signup/resend-verification';
import { webRuntime } from '@/app/_web/web-runtime';
import { clientAddress } from '@/lib/client-address';

export const dynamic = 'force-dynamic';

export async function POST(request: Request, { params }: { params: Promise<{ token: string }> }): Promise<Response> {
  const { token } = await params;
  const runtime = webRuntime();
  return handleResendVerificationRequest(token, { ...runtime, asker: { budgets: runtime.budgets, client: clientAddress(request.headers) } });
}
