// The synchronous baseline's way into the handlers (POST /api/signups/sync,
// app/_signup/sync-signup.ts): the four signup jobs run inline, one after another, with the same
// handlers the workers run, the way such code is usually first written. It exists to be measured
// against the queues, so it keeps the coupled path's flaw on purpose: the first provider failure
// ends the run, and what was left is never done.
import type { Config } from '@/lib/config';
import type { Pool } from '@/lib/sql';
import { createHandlerContext } from '@/workers/jobs/handler-context';
import { SIGNUP_JOBS } from '@/workers/jobs/job-contracts';
import { JOB_HANDLERS } from '@/workers/jobs/job-handlers';
import { ProviderError } from '@/workers/providers/provider-errors';

export interface InlineRun {
  /** The jobs that finished, in order. */
  completed: string[];
  /** The job whose provider failed, and why; the jobs after it never ran. */
  failed?: { job: string; error: string };
}

export interface SyncBaseline {
  runSignupJobs(userId: string): Promise<InlineRun>;
  close(): void;
}

/** One handler context (database client, SMTP pool) for the process, as a worker has. */
export function createSyncBaseline(settings: Pick<Config, 'appUrl' | 'providers'>, pool: Pool): SyncBaseline {
  const ctx = createHandlerContext(settings, pool);
  return {
    async runSignupJobs(userId) {
      const completed: string[] = [];
      for (const contract of SIGNUP_JOBS) {
        const handler = JOB_HANDLERS.get(contract.name);
        if (!handler) throw new Error(`no handler for ${contract.name}`);
        try {
          await handler.handle({ userId }, ctx);
          completed.push(contract.name);
        } catch (error) {
          if (!(error instanceof ProviderError)) throw error;
          return { completed, failed: { job: contract.name, error: error.message } };
        }
      }
      return { completed };
    },
    close: () => ctx.mailer.close(),
  };
}
