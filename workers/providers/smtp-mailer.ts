// Sends mail over real SMTP with nodemailer, and classifies SMTP failures: 4xx replies and
// connection problems are transient, 5xx replies are permanent, and so are an untrusted
// certificate and refused credentials (535), which only a change of configuration can fix.
// Certificates are verified as Node verifies them; SMTP_URL's forms: lib/provider-endpoints.ts.
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { SpanKind } from '@opentelemetry/api';
import { observeProviderCall } from '@/workers/providers/observe-provider-call';
import { inSpan } from '@/lib/tracing';
import { abortReason } from '@/workers/providers/http-provider';
import type { SmtpEndpoint } from '@/lib/provider-endpoints';
import {
  PermanentProviderError,
  TransientProviderError,
  authRefusal,
  untrustedCertificate,
} from '@/workers/providers/provider-errors';

export type SmtpMailer = Transporter & { readonly kind: 'smtp'; readonly smtpHost: string };

/** SMTP's reply to credentials it does not accept (RFC 4954). */
const AUTHENTICATION_FAILED = 535;

export function createSmtpMailer({ host, port, secure, requireTls, auth, timeoutMs }: SmtpEndpoint & { timeoutMs: number }): SmtpMailer {
  const transport = nodemailer.createTransport({
    host,
    port,
    secure,
    // With secure false and ignoreTLS false, nodemailer upgrades with STARTTLS whenever the server
    // offers it; requireTLS makes a server that does not offer it an error instead.
    requireTLS: requireTls,
    ...(auth ? { auth } : {}),
    // A pool reuses connections across jobs; a hung server costs one socket timeout.
    pool: true,
    maxConnections: 5,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return Object.assign(transport, { kind: 'smtp' as const, smtpHost: host });
}

export function sendSmtpMail(mailer: SmtpMailer, message: SendMailOptions, signal?: AbortSignal): Promise<void> {
  return inSpan('smtp send', { kind: SpanKind.CLIENT, attributes: { 'provider.name': 'smtp' } }, () =>
    observeProviderCall('smtp', () => send(mailer, message, signal)),
  );
}

async function send(mailer: SmtpMailer, message: SendMailOptions, signal?: AbortSignal): Promise<void> {
  try {
    // nodemailer takes no AbortSignal; the socket timeouts above bound the send itself, and the
    // race lets a job's deadline or cancel end the attempt at once.
    await abortable(mailer.sendMail(message), signal);
  } catch (cause) {
    if (signal?.aborted) throw new TransientProviderError('smtp', `cancelled: ${abortReason(signal)}`, { cause });
    const untrusted = untrustedCertificate('smtp', mailer.smtpHost, cause);
    if (untrusted) throw untrusted;
    const { responseCode, code, command } = cause as { responseCode?: unknown; code?: unknown; command?: unknown };
    const reason = cause instanceof Error ? cause.message : String(cause);
    if (code === 'ETLS' && command === 'STARTTLS' && typeof responseCode === 'number' && responseCode >= 500) {
      throw new PermanentProviderError(
        'smtp',
        `${mailer.smtpHost} does not offer STARTTLS, which SMTP_URL requires (credentials or ?starttls=required): use its smtps:// port or a relay that offers STARTTLS`,
        { cause },
      );
    }
    if (responseCode === AUTHENTICATION_FAILED) throw authRefusal('smtp', `authentication failed: ${reason}`, { cause });
    if (typeof responseCode === 'number' && responseCode >= 500) {
      throw new PermanentProviderError('smtp', `rejected: ${reason}`, { cause });
    }
    throw new TransientProviderError('smtp', `failed: ${reason}`, { cause });
  }
}

function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
