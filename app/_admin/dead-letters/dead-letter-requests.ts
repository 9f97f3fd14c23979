// The /api/admin/dlq routes as Request → Response functions; the route files wire in this process's
// dependencies. Every route authenticates first (admin-auth.ts).
import 'server-only';
import { z } from 'zod';
import { badRequest, fieldErrorsOf } from '@/app/_web/bad-request';
import type { AdminCredentials } from '@/app/_admin/auth/admin-auth';
import { authenticateAdmin } from '@/app/_admin/auth/admin-auth';
import type { Db } from '@/lib/db';
import {
  discardDeadLetters,
  listDeadLetters,
  MAX_PAGE,
  replayDeadLetters,
  type DeadLetterSelection,
} from '@/app/_admin/dead-letters/dead-letters';
import { FINGERPRINT_PATTERN } from '@/lib/failure-fingerprint';
import { QUEUE_NAMES, type QueueSet } from '@/lib/queues';

export interface DeadLetterDeps {
  db: Db;
  queues: QueueSet;
  admin: AdminCredentials;
  replayPerSecond: number;
}

const id = z
  .string()
  .regex(/^[1-9][0-9]{0,18}$/, 'must be a dead letter id')
  .transform((value) => BigInt(value));
const date = z.iso.datetime({ offset: true }).transform((value) => new Date(value));

const listQuery = z.object({
  queue: z.enum(QUEUE_NAMES).optional(),
  error: z.string().max(200).optional(),
  fingerprint: z.string().regex(FINGERPRINT_PATTERN, 'must be 16 hex characters').optional(),
  kind: z.enum(['failed', 'cancelled']).optional(),
  after: date.optional(),
  before: date.optional(),
  resolved: z.enum(['include', 'exclude']).default('exclude'),
  beforeId: id.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(50),
});

const replayBody = z.union([
  z.object({ ids: z.array(id).min(1).max(10_000), note: z.string().max(500).optional() }).strict(),
  z.object({ queue: z.enum(QUEUE_NAMES), note: z.string().max(500).optional() }).strict(),
]);

const discardBody = z.object({ reason: z.string().trim().min(1, 'a reason is required').max(500) });

export async function listDeadLettersRequest(request: Request, deps: DeadLetterDeps): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;
  const query = listQuery.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!query.success) return invalid(query.error);
  const { queue, error, fingerprint, kind, after, before, resolved, beforeId, limit } = query.data;
  const rows = await listDeadLetters(deps.db, {
    queue,
    errorContains: error,
    fingerprint,
    kind,
    failedAfter: after,
    failedBefore: before,
    includeResolved: resolved === 'include',
    beforeId,
    limit,
  });
  return json({ deadLetters: rows, nextBeforeId: rows.length === limit ? rows.at(-1)?.id : undefined });
}

export async function replayDeadLettersRequest(request: Request, deps: DeadLetterDeps, oneId?: string): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;

  let selection: DeadLetterSelection;
  let note: string | undefined;
  if (oneId !== undefined) {
    const parsed = id.safeParse(oneId);
    if (!parsed.success) return invalid(parsed.error);
    selection = { ids: [parsed.data] };
  } else {
    const body = replayBody.safeParse(await readJson(request));
    if (!body.success) return invalid(body.error, 'send {ids: [...]} or {queue}');
    selection = 'ids' in body.data ? { ids: body.data.ids } : { queue: body.data.queue };
    note = body.data.note;
  }
  const result = await replayDeadLetters(deps.db, deps.queues, selection, {
    actor: admin.user,
    perSecond: deps.replayPerSecond,
    note,
  });
  if (oneId !== undefined && result.replayed === 0) {
    return Response.json({ error: 'No dead letter with that id is waiting to be replayed.' }, { status: 404 });
  }
  return json(result);
}

export async function discardDeadLetterRequest(request: Request, deps: DeadLetterDeps, oneId: string): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;
  const parsedId = id.safeParse(oneId);
  if (!parsedId.success) return invalid(parsedId.error);
  const reason = new URL(request.url).searchParams.get('reason') ?? (await readJson(request) as { reason?: unknown })?.reason;
  const body = discardBody.safeParse({ reason });
  if (!body.success) return invalid(body.error, 'send {reason} or ?reason=');
  const result = await discardDeadLetters(deps.db, [parsedId.data], { actor: admin.user, reason: body.data.reason });
  if (result.discarded === 0) {
    return Response.json({ error: 'No dead letter with that id is waiting for a decision.' }, { status: 404 });
  }
  return json(result);
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    return undefined;
  }
}

function invalid(error: z.ZodError, hint?: string): Response {
  return badRequest(fieldErrorsOf(error), hint ? { error: hint } : {});
}

/** JSON with bigint ids as strings. */
function json(value: unknown): Response {
  return new Response(JSON.stringify(value, (_key, field: unknown) => (typeof field === 'bigint' ? field.toString() : field)), {
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}
