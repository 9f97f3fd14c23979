// Sends mail over real SMTP with nodemailer, and classifies SMTP failures: 4xx replies and
// connection problems are transient, 5xx replies are permanent.
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { SpanKind } from '@opentelemetry/api';
import { observeProviderCall } from '@/workers/providers/observe-provider-call';
import { inSpan } from '@/lib/tracing';
import { abortReason } from '@/workers/providers/http-provider';
import { PermanentProviderError, TransientProviderError } from '@/workers/providers/provider-errors';

export type Mailer = Transporter;

export function createMailer({ host, port, timeoutMs }: { host: string; port: number; timeoutMs: number }): Mailer {
  return nodemailer.createTransport({
    host,
    port,
    // The local mock (and the docker demo) speaks plain SMTP; a real relay would use TLS here.
    secure: false,
    ignoreTLS: true,
    // A pool reuses connections across jobs; a hung server costs one socket timeout.
    pool: true,
    maxConnections: 5,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
}

export function sendMail(mailer: Mailer, message: SendMailOptions, signal?: AbortSignal): Promise<void> {
  return inSpan('smtp send', { kind: SpanKind.CLIENT, attributes: { 'provider.name': 'smtp' } }, () =>
    observeProviderCall('smtp', () => send(mailer, message, signal)),
  );
}

async function send(mailer: Mailer, message: SendMailOptions, signal?: AbortSignal): Promise<void> {
  try {
    // nodemailer takes no AbortSignal; the socket timeouts above bound the send itself, and the
    // race lets a job's deadline or cancel end the attempt at once.
    await abortable(mailer.sendMail(message), signal);
  } catch (cause) {
    if (signal?.aborted) throw new TransientProviderError('smtp', `cancelled: ${abortReason(signal)}`, { cause });
    const responseCode = (cause as { responseCode?: unknown }).responseCode;
    const reason = cause instanceof Error ? cause.message : String(cause);
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
