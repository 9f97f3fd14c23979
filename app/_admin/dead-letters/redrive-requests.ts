// The /api/admin/dlq/redrives routes as Request → Response functions: preview what a filter
// matches, start a redrive of it, read redrives, and pause, resume or cancel one. Every route
// authenticates first (admin-auth.ts, which also refuses cross-site writes); refusals are values.
import 'server-only';
import { z } from 'zod';
import { badRequest, fieldErrorsOf } from '@/app/_web/bad-request';
import { authenticateAdmin, type AdminCredentials } from '@/app/_admin/auth/admin-auth';
import {
  changeRedrive,
  findRedrive,
  previewRedrive,
  recentRedrives,
  REDRIVE_CHANGES,
  startRedrive,
  type RedriveChange,
} from '@/app/_admin/dead-letters/dead-letter-redrives';
import { deadLetterMatchSchema } from '@/lib/dead-letter-filter';
import type { Pool } from '@/lib/sql';

export interface RedriveDeps {
  pool: Pool;
  admin: AdminCredentials;
  replayPerSecond: number;
}

const id = z
  .string()
  .regex(/^[1-9][0-9]{0,18}$/, 'must be a redrive id')
  .transform((value) => BigInt(value));
const change = z.enum(REDRIVE_CHANGES as [RedriveChange, ...RedriveChange[]], { message: 'must be pause, resume or cancel' });
const FILTER_HINT = 'filter by queue, error, fingerprint, kind (failed or cancelled), after and before (ISO times)';

export async function previewRedriveRequest(request: Request, deps: RedriveDeps): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;
  const match = deadLetterMatchSchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!match.success) return badRequest(fieldErrorsOf(match.error), { hint: FILTER_HINT });
  return Response.json({ filter: match.data, ...(await previewRedrive(deps.pool, match.data)) }, noStore);
}

export async function startRedriveRequest(request: Request, deps: RedriveDeps): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;
  const body = await readJson(request);
  // No body is no filter, never "everything": a redrive of all dead letters is asked for with {}.
  if (body === undefined) return badRequest({ body: 'send the filter as a JSON object, {} for every failed dead letter' }, { hint: FILTER_HINT });
  const match = deadLetterMatchSchema.safeParse(body);
  if (!match.success) return badRequest(fieldErrorsOf(match.error), { hint: FILTER_HINT });
  const result = await startRedrive(deps.pool, match.data, { actor: admin.user, perSecond: deps.replayPerSecond });
  if ('started' in result) return Response.json({ redrive: result.started }, { status: 201, ...noStore });
  if (result.refused === 'active') {
    return Response.json(
      { error: `Redrive #${result.active.id} is ${result.active.status}; finish or cancel it first.`, redrive: result.active },
      { status: 409, ...noStore },
    );
  }
  return Response.json({ error: 'No unresolved dead letter matches that filter.' }, { status: 422, ...noStore });
}

export async function listRedrivesRequest(request: Request, deps: RedriveDeps): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;
  return Response.json({ redrives: await recentRedrives(deps.pool) }, noStore);
}

export async function getRedriveRequest(request: Request, deps: RedriveDeps, rawId: string): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;
  const parsed = id.safeParse(rawId);
  if (!parsed.success) return badRequest(fieldErrorsOf(parsed.error));
  const redrive = await findRedrive(deps.pool, parsed.data);
  return redrive ? Response.json({ redrive }, noStore) : notFound();
}

export async function changeRedriveRequest(request: Request, deps: RedriveDeps, rawId: string, rawChange: string): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;
  const parsed = z.object({ id, change }).safeParse({ id: rawId, change: rawChange });
  if (!parsed.success) return badRequest(fieldErrorsOf(parsed.error));
  const result = await changeRedrive(deps.pool, parsed.data.id, parsed.data.change, admin.user);
  if ('changed' in result) return Response.json({ redrive: result.changed }, noStore);
  if (result.refused === 'unknown') return notFound();
  return Response.json(
    { error: `Redrive #${result.current.id} is ${result.current.status}; it cannot ${parsed.data.change}.`, redrive: result.current },
    { status: 409, ...noStore },
  );
}

const noStore = { headers: { 'cache-control': 'no-store' } };

function notFound(): Response {
  return Response.json({ error: 'No redrive with that id.' }, { status: 404, ...noStore });
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    return undefined;
  }
}
