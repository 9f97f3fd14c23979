// The e2e suite's view of the mock providers: their records and fault switches (docs/operations.md),
// asked with the stack's MOCKS_TOKEN.
import { controlHeaders } from '../../infra/mock-providers/fault-control';
import { E2E } from './e2e-environment';

const authorization = controlHeaders(E2E.env.MOCKS_TOKEN);

/** The providers a signup's four jobs call, in the order of the jobs on the status page. */
export const EFFECT_PROVIDERS = ['smtp', 'crm', 'storage', 'analytics'] as const;
export type EffectProvider = (typeof EFFECT_PROVIDERS)[number];

export interface ProviderRecord {
  key: string;
  deliveries: number;
  failures: number;
  body: unknown;
}

export interface Fault {
  mode: 'up' | 'slow' | 'flaky' | 'down' | 'hang' | 'ratelimit' | 'reject';
  latencyMs?: number;
  failureRate?: number;
  retryAfterSeconds?: number;
}

export async function inspect(provider: string): Promise<ProviderRecord[]> {
  const response = await fetch(`${E2E.mocksUrl}/__inspect/${provider}`, { headers: authorization });
  if (!response.ok) throw new Error(`inspect ${provider}: ${response.status}`);
  return (await response.json()) as ProviderRecord[];
}

/**
 * What `provider` received for one user: every idempotency key the jobs derive carries the user id
 * (`sync-crm-contact-<id>`, `<send-welcome-email.<id>@…>`, `user_signed_up-<id>`), so one record
 * per effect, however many times it was sent.
 */
export async function recordsFor(provider: string, userId: string): Promise<ProviderRecord[]> {
  return (await inspect(provider)).filter((record) => record.key.includes(userId));
}

export async function setFault(provider: string, fault: Fault): Promise<void> {
  const response = await fetch(`${E2E.mocksUrl}/__faults/${provider}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...authorization },
    body: JSON.stringify(fault),
  });
  if (!response.ok) throw new Error(`fault ${provider}: ${response.status}`);
}

/** Every provider up, and nothing recorded. */
export async function resetProviders(): Promise<void> {
  const response = await fetch(`${E2E.mocksUrl}/__reset`, { method: 'POST', headers: authorization });
  if (!response.ok) throw new Error(`resetting the mock providers failed: ${response.status}`);
}

/** The one welcome email sent to `email`, from the mock SMTP server's records. */
export async function welcomeEmailTo(email: string): Promise<ProviderRecord & { body: { to: string[]; text: string } }> {
  const mails = (await inspect('smtp')) as Array<ProviderRecord & { body: { to: string[]; text: string } }>;
  const matching = mails.filter((mail) => mail.body.to.includes(email));
  if (matching.length !== 1) throw new Error(`expected one email to ${email}, found ${matching.length}`);
  return matching[0] as ProviderRecord & { body: { to: string[]; text: string } };
}
