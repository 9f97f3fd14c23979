// What inviting needs from this process: the web runtime's database and fail-fast queues, and the
// admin credentials that guard it. Shared by the API route and the admin form's action.
import 'server-only';
import { webRuntime } from '@/app/_web/web-runtime';
import { config } from '@/lib/config';
import type { InviteRequestDeps } from '@/app/_workspaces/invite-request';

export function inviteDeps(): InviteRequestDeps {
  const { db, queues, log } = webRuntime();
  return { db, queues, log, admin: config().admin };
}
