// Every job contract, by name: the one module of workers/ that the web app imports (with the
// synchronous baseline's sync-baseline.ts). Importing it opens no connection and loads no handler.
import type { JobsOptions } from 'bullmq';
import { addOptions, type JobContract } from '@/workers/jobs/define-job';
import { sendWelcomeEmail } from '@/workers/jobs/email/send-welcome-email.contract';
import { syncCrmContact } from '@/workers/jobs/crm/sync-crm-contact.contract';
import { generateAvatar } from '@/workers/jobs/avatar/generate-avatar.contract';
import { trackSignupEvent } from '@/workers/jobs/analytics/track-signup-event.contract';
import { sendInviteEmail } from '@/workers/jobs/email/send-invite-email.contract';
import { sendVerificationEmail } from '@/workers/jobs/email/send-verification-email.contract';
import { sendGettingStartedEmail } from '@/workers/jobs/email/send-getting-started-email.contract';
import { eraseCrmContact } from '@/workers/jobs/crm/erase-crm-contact.contract';
import { eraseAvatar } from '@/workers/jobs/avatar/erase-avatar.contract';
import { eraseAnalyticsEvents } from '@/workers/jobs/analytics/erase-analytics-events.contract';

export { outboxEntry, type JobContract } from '@/workers/jobs/define-job';
export {
  sendWelcomeEmail,
  syncCrmContact,
  generateAvatar,
  trackSignupEvent,
  sendInviteEmail,
  sendVerificationEmail,
  sendGettingStartedEmail,
  eraseCrmContact,
  eraseAvatar,
  eraseAnalyticsEvents,
};

/** The four jobs every signup enqueues, in the order the status page lists them. */
export const SIGNUP_JOBS = [sendWelcomeEmail, syncCrmContact, generateAvatar, trackSignupEvent] as const;

/**
 * The jobs an account's deletion enqueues: one per provider that holds the person's data
 * (docs/failure-model.md#erasure). Owed while the user does not exist, unlike every other job.
 */
export const ERASURE_JOBS = [eraseCrmContact, eraseAnalyticsEvents, eraseAvatar] as const;

/** Every job there is. */
export const ALL_JOBS: readonly JobContract[] = [
  ...SIGNUP_JOBS,
  sendGettingStartedEmail,
  sendVerificationEmail,
  sendInviteEmail,
  ...ERASURE_JOBS,
] as unknown as readonly JobContract[];

const byName = new Map<string, JobContract>(ALL_JOBS.map((contract) => [contract.name, contract]));

export function jobContract(name: string): JobContract | undefined {
  return byName.get(name);
}

/** Whether the job is paced on its tenant's clock at dispatch (lib/tenant-pacer.ts). */
export function pacedByTenant(name: string): boolean {
  return byName.get(name)?.pacedByTenant === true;
}

/**
 * A job's options by name, for the outbox's dispatches and the dead-letter replay
 * (lib/outbox.ts): its defaults and, given the payload, its deduplication (a replay passes none:
 * a person chose to run that job). A name no contract has gets BullMQ's defaults: its job still
 * goes out and fails visibly in the queue rather than sitting in the outbox forever.
 */
export function jobOptions(name: string, payload?: Record<string, unknown>): JobsOptions {
  const contract = byName.get(name);
  if (!contract) return {};
  return payload ? addOptions(contract, payload) : contract.options;
}
