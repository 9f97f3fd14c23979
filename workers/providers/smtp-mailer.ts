// Sends mail over real SMTP with nodemailer, and classifies SMTP failures: 4xx replies and
// connection problems are transient, 5xx replies are permanent.
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
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

export async function sendMail(mailer: Mailer, message: SendMailOptions): Promise<void> {
  try {
    await mailer.sendMail(message);
  } catch (cause) {
    const responseCode = (cause as { responseCode?: unknown }).responseCode;
    const reason = cause instanceof Error ? cause.message : String(cause);
    if (typeof responseCode === 'number' && responseCode >= 500) {
      throw new PermanentProviderError('smtp', `rejected: ${reason}`, { cause });
    }
    throw new TransientProviderError('smtp', `failed: ${reason}`, { cause });
  }
}
