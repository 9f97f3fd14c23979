// The e2e suite's view of the mock providers: their records and fault switches (CONTRACT.md).
import { E2E } from './e2e-environment';

export interface ProviderRecord {
  key: string;
  deliveries: number;
  failures: number;
  body: unknown;
}

export async function inspect(provider: string): Promise<ProviderRecord[]> {
  const response = await fetch(`${E2E.mocksUrl}/__inspect/${provider}`);
  if (!response.ok) throw new Error(`inspect ${provider}: ${response.status}`);
  return (await response.json()) as ProviderRecord[];
}

export async function setFault(provider: string, fault: { mode: string; latencyMs?: number }): Promise<void> {
  const response = await fetch(`${E2E.mocksUrl}/__faults/${provider}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fault),
  });
  if (!response.ok) throw new Error(`fault ${provider}: ${response.status}`);
}

/** The one welcome email sent to `email`, from the mock SMTP server's records. */
export async function welcomeEmailTo(email: string): Promise<ProviderRecord & { body: { to: string[]; text: string } }> {
  const mails = (await inspect('smtp')) as Array<ProviderRecord & { body: { to: string[]; text: string } }>;
  const matching = mails.filter((mail) => mail.body.to.includes(email));
  if (matching.length !== 1) throw new Error(`expected one email to ${email}, found ${matching.length}`);
  return matching[0] as ProviderRecord & { body: { to: string[]; text: string } };
}
