// Every job contract, by name. Importing this opens no connection.
import type { JobContract } from '@/workers/jobs/define-job';
import { sendWelcomeEmail } from '@/workers/jobs/email/send-welcome-email.contract';
import { syncCrmContact } from '@/workers/jobs/crm/sync-crm-contact.contract';
import { generateAvatar } from '@/workers/jobs/avatar/generate-avatar.contract';
import { trackSignupEvent } from '@/workers/jobs/analytics/track-signup-event.contract';
import { sendInviteEmail } from '@/workers/jobs/email/send-invite-email.contract';
import { sendVerificationEmail } from '@/workers/jobs/email/send-verification-email.contract';
import { sendGettingStartedEmail } from '@/workers/jobs/email/send-getting-started-email.contract';

export {
  sendWelcomeEmail,
  syncCrmContact,
  generateAvatar,
  trackSignupEvent,
  sendInviteEmail,
  sendVerificationEmail,
  sendGettingStartedEmail,
};

/** The four jobs every signup enqueues, in the order the status page lists them. */
export const SIGNUP_JOBS = [sendWelcomeEmail, syncCrmContact, generateAvatar, trackSignupEvent] as const;

/** Every job there is. */
export const ALL_JOBS = [...SIGNUP_JOBS, sendGettingStartedEmail, sendVerificationEmail, sendInviteEmail] as const;

const byName = new Map<string, JobContract>(
  ALL_JOBS.map((contract) => [contract.name, contract as unknown as JobContract]),
);

export function jobContract(name: string): JobContract | undefined {
  return byName.get(name);
}
