// POST /api/workspaces/<slug>/invites as a plain Request → Response function (the route file only
// wires in this process's dependencies). Every refusal is an expected value with its status code;
// only a bug can produce a 500.
//
// Admin only. There are no workspace accounts in this demo to say who may invite into a workspace,
// and an open endpoint that mails 10,000 arbitrary addresses per request is a spam cannon. So it
// takes the admin's credentials exactly like /api/admin/*: HTTP Basic for scripts, or the admin
// session cookie with the same-origin check for browser writes (admin-auth.ts), judged before the
// body is read; the proxy (proxy.ts) refuses strangers first as well.
import 'server-only';
import { badRequest } from '@/app/_web/bad-request';
import { authenticateAdmin, type AdminCredentials } from '@/app/_admin/auth/admin-auth';
import { readCappedText, refuseUnreadBody } from '@/lib/capped-body';
import type { Logger } from '@/lib/log';
import { parseInviteBody, type InviteRefusal } from '@/app/_workspaces/invite-input';
import { inviteMembers, type InviteMembersDeps } from '@/app/_workspaces/invite-members';

/**
 * 1 MiB. 10,000 realistic addresses (30–40 characters, quoted, with commas: ~400 KB) fit with room
 * to spare; 10,000 of the longest legal ones (254 characters: ~2.6 MB) would not, and no real list
 * looks like that. Anything larger is refused before it is read whole.
 */
export const MAX_INVITE_BODY_BYTES = 1024 * 1024;

export interface InviteRequestDeps extends InviteMembersDeps {
  admin: AdminCredentials;
  log: Logger;
}

export async function handleInviteRequest(request: Request, slug: string, deps: InviteRequestDeps): Promise<Response> {
  const admin = await authenticateAdmin(request, deps.admin);
  if (admin instanceof Response) return admin;

  const contentType = request.headers.get('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    return Response.json({ error: 'Send the invitations as application/json: {"emails": [...]}.' }, { status: 415 });
  }

  const body = await readCappedText(request, MAX_INVITE_BODY_BYTES);
  if (body.kind !== 'read') return refuseUnreadBody(body, `${MAX_INVITE_BODY_BYTES} bytes (1 MiB)`);

  let raw: unknown;
  try {
    raw = JSON.parse(body.text);
  } catch {
    return refused({ errors: { body: 'The body is not valid JSON.' }, invalid: [], invalidCount: 0 });
  }
  const parsed = parseInviteBody(slug, raw);
  if (!parsed.ok) return refused(parsed);

  const outcome = await inviteMembers(parsed.input, deps);
  if (outcome.status === 'unavailable') {
    deps.log.error('invitations could not be saved', {
      workspace: parsed.input.workspace,
      error: outcome.error instanceof Error ? outcome.error.message.split('\n')[0] : String(outcome.error),
    });
    return Response.json(
      { error: 'We cannot save invitations right now; nobody was invited. Please try again in a moment.' },
      { status: 503, headers: { 'retry-after': '5' } },
    );
  }
  deps.log.info('workspace invitations saved', {
    workspace: parsed.input.workspace,
    by: admin.user,
    count: outcome.count,
    alreadyInvited: outcome.alreadyInvited,
    dispatched: outcome.dispatched,
  });
  // 202: the invitations are saved, their emails are still to be sent (paced per workspace).
  return Response.json({ count: outcome.count, alreadyInvited: outcome.alreadyInvited }, { status: 202 });
}

function refused({ errors, invalid, invalidCount }: InviteRefusal): Response {
  return badRequest(errors, { invalid, invalidCount });
}
