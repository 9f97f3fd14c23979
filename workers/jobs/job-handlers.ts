// Every job's contract paired with its handler. Imported by worker processes only.
import type { JobContract } from '@/workers/jobs/define-job';
import type { HandlerContext, HandlerOutcome } from '@/workers/jobs/handler-context';
import {
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

export interface JobDefinition<Payload extends Record<string, unknown>> {
  contract: JobContract<Payload>;
  handler: (payload: Payload, ctx: HandlerContext) => Promise<HandlerOutcome>;
}

function define<Payload extends Record<string, unknown>>(definition: JobDefinition<Payload>) {
  return definition as unknown as JobDefinition<Record<string, unknown>>;
}

export const JOB_DEFINITIONS: ReadonlyMap<string, JobDefinition<Record<string, unknown>>> = new Map(
  [
    define({ contract: sendWelcomeEmail, handler: sendWelcomeEmailHandler }),
    define({ contract: syncCrmContact, handler: syncCrmContactHandler }),
    define({ contract: generateAvatar, handler: generateAvatarHandler }),
    define({ contract: trackSignupEvent, handler: trackSignupEventHandler }),
    define({ contract: sendInviteEmail, handler: sendInviteEmailHandler }),
    define({ contract: sendVerificationEmail, handler: sendVerificationEmailHandler }),
    define({ contract: sendGettingStartedEmail, handler: sendGettingStartedEmailHandler }),
  ].map((definition) => [definition.contract.name, definition]),
);
