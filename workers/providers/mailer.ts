// How the email jobs send: over SMTP (smtp-mailer.ts, the default), or, when EMAIL_API_URL is set,
// through an HTTP email API that takes an idempotency key, which closes the window in which an SMTP
// relay can deliver twice (docs/providers.md, "Email: an HTTP API"). Either way one message per
// call, its Message-ID the idempotency key, failures in the taxonomy of provider-errors.ts.
import type { SendMailOptions } from 'nodemailer';
import type { Config } from '@/lib/config';
import { EMAIL_API_VARIABLES, type HttpProviderEndpoint } from '@/lib/provider-endpoints';
import { callProvider } from '@/workers/providers/http-provider';
import { PermanentProviderError } from '@/workers/providers/provider-errors';
import { createSmtpMailer, sendSmtpMail, type SmtpMailer } from '@/workers/providers/smtp-mailer';

interface EmailApiMailer {
  readonly kind: 'http';
  readonly endpoint: HttpProviderEndpoint;
  readonly timeoutMs: number;
  /** Nothing to close: its connections are the HTTP providers' shared agent's. */
  close(): void;
}

export type Mailer = SmtpMailer | EmailApiMailer;

export function createMailer({ smtp, emailApi, timeoutMs }: Pick<Config['providers'], 'smtp' | 'emailApi' | 'timeoutMs'>): Mailer {
  if (emailApi) return { kind: 'http', endpoint: emailApi, timeoutMs, close: () => undefined };
  return createSmtpMailer({ ...smtp, timeoutMs });
}

export async function sendMail(mailer: Mailer, message: SendMailOptions, signal?: AbortSignal): Promise<void> {
  if (mailer.kind === 'smtp') return sendSmtpMail(mailer, message, signal);
  const { messageId } = message;
  if (!messageId) throw new PermanentProviderError('smtp', 'a message without a Message-ID has no idempotency key');
  // The metrics, the breaker and the mocks' fault switch know email as `smtp`, whichever way it goes.
  await callProvider({
    provider: 'smtp',
    method: 'POST',
    url: `${mailer.endpoint.url}/messages`,
    idempotencyKey: messageId,
    apiKey: mailer.endpoint.apiKey,
    variables: EMAIL_API_VARIABLES,
    body: { messageId, from: message.from, to: message.to, subject: message.subject, text: message.text, html: message.html },
    timeoutMs: mailer.timeoutMs,
    signal,
  });
}
