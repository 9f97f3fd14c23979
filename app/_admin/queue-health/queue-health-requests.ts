// The /api/admin/queues routes as Request → Response functions: the health report, and pausing or
// resuming a queue. Every route authenticates first (admin-auth.ts); the route files pass in this
// process's dependencies (app/_web/web-runtime.ts).
import 'server-only';
import { z } from 'zod';
import { badRequest } from '@/app/_web/bad-request';
import { authenticateAdmin, type AdminCredentials } from '@/app/_admin/auth/admin-auth';
import type { Logger } from '@/lib/log';
import { isValkeyUnreachable, queueHealth, type QueueHealthDeps } from '@/app/_admin/queue-health/queue-health';
import { QUEUE_NAMES } from '@/lib/queues';

export interface QueueAdminDeps extends QueueHealthDeps {
  admin: AdminCredentials;
  log: Logger;
}

const queueName = z.enum(QUEUE_NAMES);

export async function queueHealthRequest(request: Request, deps: QueueAdminDeps): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;
  return json(await queueHealth(deps));
}

export function pauseQueueRequest(request: Request, deps: QueueAdminDeps, queue: string | undefined): Promise<Response> {
  return setPaused(request, deps, queue, true);
}

export function resumeQueueRequest(request: Request, deps: QueueAdminDeps, queue: string | undefined): Promise<Response> {
  return setPaused(request, deps, queue, false);
}

async function setPaused(
  request: Request,
  deps: QueueAdminDeps,
  queue: string | undefined,
  paused: boolean,
): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;
  const name = queueName.safeParse(queue);
  if (!name.success) {
    return badRequest({ queue: `Unknown queue; expected one of ${QUEUE_NAMES.join(', ')}.` });
  }
  const target = deps.queues[name.data];
  try {
    // Global: every worker process stops taking this queue's jobs; running ones finish.
    await (paused ? target.pause() : target.resume());
    const now = await target.isPaused();
    deps.log.info(now ? 'queue paused' : 'queue resumed', { queue: name.data, by: admin.user });
    return json({ queue: name.data, paused: now });
  } catch (error) {
    if (!isValkeyUnreachable(error)) throw error;
    return Response.json({ error: 'Valkey is unreachable; nothing was changed.' }, { status: 503 });
  }
}

function json(value: unknown): Response {
  return Response.json(value, { headers: { 'cache-control': 'no-store' } });
}
