// POST /api/admin/jobs/<queue>/<id>/cancel with {reason} as a Request → Response function; the route
// file passes in this process's dependencies. Authenticates first, origin included (admin-auth.ts).
import 'server-only';
import { z } from 'zod';
import { badRequest, fieldErrorsOf } from '@/app/_web/bad-request';
import { authenticateAdmin, type AdminCredentials } from '@/app/_admin/auth/admin-auth';
import { cancelJob, type CancelJobDeps, type CancelOutcome } from '@/app/_admin/jobs/cancel-job';
import { isValkeyUnreachable } from '@/app/_admin/queue-health/queue-health';
import { cancelReasonSchema, jobIdSchema } from '@/lib/cancel-requests';
import { QUEUE_NAMES } from '@/lib/queues';

export interface JobAdminDeps extends CancelJobDeps {
  admin: AdminCredentials;
}

const cancelTarget = z.object({
  queue: z.enum(QUEUE_NAMES, { error: `Unknown queue; expected one of ${QUEUE_NAMES.join(', ')}.` }),
  id: jobIdSchema,
  reason: cancelReasonSchema,
});

export async function cancelJobRequest(
  request: Request,
  deps: JobAdminDeps,
  params: { queue: string; id: string },
  options?: { waitMs?: number },
): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;
  const body = await readJson(request);
  const reason = typeof body === 'object' && body !== null ? (body as { reason?: unknown }).reason : undefined;
  const parsed = cancelTarget.safeParse({ ...params, reason });
  if (!parsed.success) return badRequest(fieldErrorsOf(parsed.error), { hint: 'send {"reason": "..."} as JSON' });
  const { queue, id, reason: why } = parsed.data;

  let outcome: CancelOutcome;
  try {
    outcome = await cancelJob(deps, { queue, jobId: id, reason: why, actor: admin.user }, options);
  } catch (error) {
    if (!isValkeyUnreachable(error)) throw error;
    return Response.json({ error: 'Valkey is unreachable; nothing was changed.' }, { status: 503 });
  }
  return answer(queue, id, outcome);
}

function answer(queue: string, jobId: string, outcome: CancelOutcome): Response {
  const headers = { 'cache-control': 'no-store' };
  switch (outcome.status) {
    case 'cancelled':
      return Response.json({ status: 'cancelled', queue, jobId, was: outcome.was, deadLetterId: outcome.deadLetterId.toString() }, { headers });
    case 'cancelling':
      return Response.json(
        { status: 'cancelling', queue, jobId, message: 'The workers were asked to abort it; it had not stopped yet. Look again in a moment.' },
        { status: 202, headers },
      );
    case 'not-found':
      return Response.json({ error: `No job ${jobId} in the ${queue} queue.` }, { status: 404, headers });
    case 'finished':
      return Response.json({ error: `Job ${jobId} has already ${outcome.state}; there is nothing to cancel.`, state: outcome.state }, { status: 409, headers });
  }
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    return undefined;
  }
}
