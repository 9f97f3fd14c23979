'use server';
// The admin invite form's server action. Anyone can call a server action with anything, so it checks
// the admin session first, exactly as the page does (a stranger is sent to the login page and
// nothing is read); Next refuses actions whose Origin does not match the host, which is the
// same-origin check the API applies to cookie-authenticated writes.
import 'server-only';
import { requireAdminPage } from '@/app/_admin/auth/admin-auth';
import { submitInviteForm, type InviteFormState } from '@/app/_workspaces/invite-form';
import { webRuntime } from '@/app/_web/web-runtime';

const PAGE_PATH = '/admin/invites';

export async function inviteMembersAction(_previous: InviteFormState, formData: FormData): Promise<InviteFormState> {
  const admin = await requireAdminPage(PAGE_PATH);
  return submitInviteForm(formData, webRuntime(), admin.user);
}
