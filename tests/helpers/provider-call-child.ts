// The child side of provider-call-process.ts: each call's settings go through loadConfig, then
// through callProvider or the SMTP mailer, exactly as a worker's would; prints the outcomes as JSON.
import { randomUUID } from 'node:crypto';
import { loadConfig } from '@/lib/config';
import { callProvider } from '@/workers/providers/http-provider';
import { ProviderError } from '@/workers/providers/provider-errors';
import { createMailer, sendMail } from '@/workers/providers/mailer';
import type { ProviderCall, ProviderCallResult } from '@/tests/helpers/provider-call-process';

async function call({ kind, env }: ProviderCall): Promise<unknown> {
  const settings = loadConfig(env);
  const timeoutMs = settings.providers.timeoutMs;
  if (kind === 'crm') {
    const { url, apiKey } = settings.providers.crm;
    return callProvider({
      provider: 'crm',
      method: 'POST',
      url: `${url}/contacts`,
      idempotencyKey: `sync-crm-contact-${randomUUID()}`,
      apiKey,
      body: { externalId: randomUUID(), email: 'ada@example.com', name: 'Ada' },
      timeoutMs,
    });
  }
  const mailer = createMailer(settings.providers);
  try {
    await sendMail(mailer, {
      from: 'signup@example.com',
      to: 'ada@example.com',
      subject: 'Welcome',
      text: 'Hello',
      messageId: `<${randomUUID()}@signup.test>`,
    });
    return { sent: true };
  } finally {
    mailer.close();
  }
}

const results: ProviderCallResult[] = [];
for (const request of JSON.parse(process.argv[2] ?? '[]') as ProviderCall[]) {
  try {
    results.push({ ok: true, value: await call(request) });
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    results.push({ ok: false, name, message, ...(error instanceof ProviderError ? { kind: error.kind } : {}) });
  }
}
console.log(JSON.stringify(results));
process.exit(0);
