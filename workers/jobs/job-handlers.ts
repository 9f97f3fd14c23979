// Every job's contract paired with its handler: what a worker runs for a job of that name.
// Imported by worker processes (runtime/process-job.ts) and the synchronous baseline
// (sync-baseline.ts); never by the web app otherwise, since it loads every handler.
import type { JobContract } from '@/workers/jobs/define-job';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import {
  eraseAnalyticsEvents,
  eraseAvatar,
  eraseCrmContact,
  generateAvatar,
  sendGettingStartedEmail,
  sendInviteEmail,
  sendVerificationEmail,
  sendWelcomeEmail,
  syncCrmContact,
  trackSignupEvent,
} from '@/workers/jobs/job-contracts';
import { sendWelcomeEmailHandler } from '@/workers/jobs/email/send-welcome-email.handler';
import { syncCrmContactHandler } from '@/workers/jobs/crm/sync-crm-contact.handler';
import { generateAvatarHandler } from '@/workers/jobs/avatar/generate-avatar.handler';
import { trackSignupEventHandler } from '@/workers/jobs/analytics/track-signup-event.handler';
import { sendInviteEmailHandler } from '@/workers/jobs/email/send-invite-email.handler';
import { sendVerificationEmailHandler } from '@/workers/jobs/email/send-verification-email.handler';
import { sendGettingStartedEmailHandler } from '@/workers/jobs/email/send-getting-started-email.handler';
import { eraseCrmContactHandler } from '@/workers/jobs/crm/erase-crm-contact.handler';
import { eraseAvatarHandler } from '@/workers/jobs/avatar/erase-avatar.handler';
import { eraseAnalyticsEventsHandler } from '@/workers/jobs/analytics/erase-analytics-events.handler';

export interface JobHandler<Payload extends Record<string, unknown> = Record<string, unknown>> {
  contract: JobContract<Payload>;
  handle: (payload: Payload, ctx: HandlerContext) => Promise<HandlerOutcome>;
}

function pair<Payload extends Record<string, unknown>>(
  contract: JobContract<Payload>,
  handle: JobHandler<Payload>['handle'],
): JobHandler {
  return { contract, handle } as unknown as JobHandler;
}

export const JOB_HANDLERS: ReadonlyMap<string, JobHandler> = new Map(
  [
    pair(sendWelcomeEmail, sendWelcomeEmailHandler),
    pair(syncCrmContact, syncCrmContactHandler),
    pair(generateAvatar, generateAvatarHandler),
    pair(trackSignupEvent, trackSignupEventHandler),
    pair(sendInviteEmail, sendInviteEmailHandler),
    pair(sendVerificationEmail, sendVerificationEmailHandler),
    pair(sendGettingStartedEmail, sendGettingStartedEmailHandler),
    pair(eraseCrmContact, eraseCrmContactHandler),
    pair(eraseAnalyticsEvents, eraseAnalyticsEventsHandler),
    pair(eraseAvatar, eraseAvatarHandler),
  ].map((handler) => [handler.contract.name, handler]),
);
