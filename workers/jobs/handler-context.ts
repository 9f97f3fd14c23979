// What a handler receives besides its payload: the database, the provider endpoints and the job's
// cancellation signal. Handlers take this instead of a BullMQ Job, so the synchronous baseline
// (POST /api/signups/sync) runs exactly the same code inline.
import type { Config } from '@/lib/config';
import type { Pool } from '@/lib/sql';
import { createMailer, type Mailer } from '@/workers/providers/mailer';

export interface HandlerContext {
  /** PostgreSQL, in plain SQL (lib/sql.ts): a job's reads and its record are one statement each. */
  pool: Pool;
  mailer: Mailer;
  /** The HTTP providers' base URLs and keys (lib/provider-endpoints.ts). */
  providers: Pick<Config['providers'], 'crm' | 'storage' | 'analytics'>;
  providerTimeoutMs: number;
  /** Base of links in emails. */
  appUrl: string;
  signal?: AbortSignal;
}

/**
 * What a handler did: applied the effect now, found it already applied (a repeated job), or found
 * nothing to do (the user was deleted before the job ran).
 */
export type HandlerOutcome =
  | { status: 'applied'; detail?: Record<string, string> }
  | { status: 'already-done' }
  | { status: 'skipped'; reason: SkipReason };

/**
 * Why a job had nothing to do. Fixed words, never data: the reason is stored (job_outcomes), logged
 * and returned to BullMQ, so it must not be able to carry an address or a name.
 */
export type SkipReason =
  | 'user deleted'
  | 'account exists'
  | 'invitation withdrawn'
  | 'address already has an account'
  | 'address already verified';

/** The context for a process: one database client and one SMTP pool, shared by all its jobs. */
export function createHandlerContext(settings: Pick<Config, 'appUrl' | 'providers'>, pool: Pool): HandlerContext {
  return {
    pool,
    mailer: createMailer(settings.providers),
    providers: { crm: settings.providers.crm, storage: settings.providers.storage, analytics: settings.providers.analytics },
    providerTimeoutMs: settings.providers.timeoutMs,
    appUrl: settings.appUrl,
  };
}
