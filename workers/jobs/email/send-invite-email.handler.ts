// send-invite-email
// Enqueued by: POST /api/workspaces/<slug>/invites, one job per invitation (through the outbox),
//   paced per workspace (lib/tenant-pacer.ts) and below signup emails (email-priorities.ts).
// Side effect: one invitation email over SMTP with a link to the signup form for the workspace.
// Idempotency: sent_emails.job_id is unique; the Message-ID is derived from the job id.
// Retries: the email queue's policy; a 5xx SMTP reply is permanent. An invitation that no longer
//   exists, or whose address already has an account, is skipped.
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import { effectAndInvitation } from '@/workers/jobs/read-and-validate';
import { escapeHtml, sendRecordedEmail } from '@/workers/jobs/email/recorded-email';
import { sendInviteEmail, type SendInviteEmailPayload } from '@/workers/jobs/email/send-invite-email.contract';

export async function sendInviteEmailHandler(payload: SendInviteEmailPayload, ctx: HandlerContext): Promise<HandlerOutcome> {
  const { invitationId } = payload;
  const { done, invitation } = await effectAndInvitation(ctx, sendInviteEmail, payload, invitationId);
  if (done) return { status: 'already-done' };
  if (!invitation) return { status: 'skipped', reason: 'invitation withdrawn' };
  if (invitation.hasAccount) return { status: 'skipped', reason: 'address already has an account' };

  const signupUrl = `${ctx.appUrl}/signup?workspace=${encodeURIComponent(invitation.workspace)}`;
  return sendRecordedEmail(ctx, {
    jobId: sendInviteEmail.jobId(payload),
    kind: 'invitation',
    invitationId,
    message: {
      to: invitation.email,
      subject: `You are invited to the ${invitation.workspace} workspace`,
      text: `Hello,\n\nYou have been invited to join the ${invitation.workspace} workspace. Sign up here:\n${signupUrl}\n`,
      html: `<p>Hello,</p><p>You have been invited to join the <strong>${escapeHtml(invitation.workspace)}</strong> workspace. <a href="${signupUrl}">Sign up here</a>.</p>`,
    },
  });
}
