'use server';
// The status page's two server actions: the same cores as POST /api/welcome/<token>/verification-email
// and DELETE /api/welcome/<token>, for the page's forms (with or without JavaScript). Refusals
// come back as form state; a deletion leaves the page, whose token no longer opens anything.
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { deleteAccount } from '@/app/_signup/delete-account';
import { refusalMessage, resendVerification } from '@/app/_signup/resend-verification';
import { errorSummary } from '@/lib/log';
import { webRuntime } from '@/app/_web/web-runtime';
import { clientAddress } from '@/lib/client-address';

export interface ResendFormState {
  outcome?: 'sent' | 'too-soon' | 'busy' | 'limit-reached' | 'already-verified' | 'unknown-token' | 'unavailable';
  message?: string;
}

export interface DeleteFormState {
  error?: string;
}

/**
 * The checkbox that stands for "I understand" (delete-account-form.tsx posts it as `yes`); a form
 * posted without it deletes nothing. Not exported: a 'use server' file exports async functions only.
 */
const DELETE_CONFIRMATION_FIELD = 'confirm';

export async function submitResendVerification(_previous: ResendFormState, formData: FormData): Promise<ResendFormState> {
  const runtime = webRuntime();
  const asker = { budgets: runtime.budgets, client: clientAddress(await headers()) };
  const outcome = await resendVerification(field(formData, 'token'), { ...runtime, asker });
  switch (outcome.status) {
    case 'sent':
      runtime.log.info('verification email requested', { user: outcome.userId, dispatched: outcome.dispatched });
      return { outcome: 'sent', message: 'A new link is on its way to your email address. It can take a minute to arrive.' };
    case 'too-soon':
    case 'busy':
    case 'limit-reached':
    case 'already-verified':
    case 'unknown-token':
      return { outcome: outcome.status, message: refusalMessage(outcome) };
    case 'unavailable':
      runtime.log.warn('verification resend unavailable', { error: errorSummary(outcome.error) });
      return { outcome: 'unavailable', message: 'We cannot send emails right now; please try again in a moment.' };
  }
}

export async function submitDeleteAccount(_previous: DeleteFormState, formData: FormData): Promise<DeleteFormState> {
  if (formData.get(DELETE_CONFIRMATION_FIELD) !== 'yes') {
    return { error: 'Tick the box to confirm that you want your account deleted.' };
  }
  const runtime = webRuntime();
  const outcome = await deleteAccount(field(formData, 'token'), runtime);
  switch (outcome.status) {
    case 'unknown-token':
      return { error: 'This account no longer exists.' };
    case 'expired':
      return { error: 'This page\'s link has expired, so it can no longer delete the account. Reload the page to ask for a new link.' };
    case 'unavailable':
      runtime.log.warn('account deletion unavailable', { error: errorSummary(outcome.error) });
      return { error: 'We cannot delete accounts right now; nothing was deleted. Please try again in a moment.' };
    case 'deleted':
      runtime.log.info('account deleted', {
        user: outcome.userId,
        followUpRemoved: outcome.followUpRemoved,
        erasuresDispatched: outcome.erasuresDispatched,
      });
      // redirect() throws to unwind the action, so it stays outside any try/catch.
      redirect('/welcome/deleted');
  }
}

/** A form field as a string; a file upload or a missing field reads as empty (an unknown token). */
function field(formData: FormData, name: string): string {
  const value = formData.get(name);
  return typeof value === 'string' ? value : '';
}
