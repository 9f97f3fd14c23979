// /admin/invites: invite a list of addresses into a workspace, through the same core as
// POST /api/workspaces/<slug>/invites (app/_workspaces/invite-members.ts). All or nothing: one bad
// address refuses the list and the page lists what to fix.
import type { Metadata } from 'next';
import { requireAdminPage } from '@/app/_admin/auth/admin-auth';
import { InviteForm } from './invite-form';
import './invites.css';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Invitations' };

export default async function InvitesPage() {
  await requireAdminPage('/admin/invites');
  return (
    <>
      <header className="invites-head">
        <h1>Invite to a workspace</h1>
        <p className="muted">
          Each new address gets an invitation email. A workspace&apos;s emails are paced so that a long list never holds
          up another workspace&apos;s; addresses already invited are skipped, so sending a list twice invites nobody twice.
        </p>
      </header>
      <section className="panel">
        <InviteForm />
      </section>
    </>
  );
}
