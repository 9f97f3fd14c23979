// Where each third party is and how we prove who we are to it: one URL per provider, an optional
// API key per HTTP provider, SMTP credentials in SMTP_URL. lib/config.ts parses the variables into
// these shapes; the defaults point at the mock providers. How to swap a mock for a real service:
// docs/providers.md.

export type HttpProviderName = 'crm' | 'storage' | 'analytics' | 'alerts';

/** The variables that configure each provider, named in error messages so an operator knows what to fix. */
export const PROVIDER_VARIABLES = {
  crm: { url: 'CRM_URL', key: 'CRM_API_KEY' },
  storage: { url: 'STORAGE_URL', key: 'STORAGE_API_KEY' },
  analytics: { url: 'ANALYTICS_URL', key: 'ANALYTICS_API_KEY' },
  alerts: { url: 'ALERT_WEBHOOK_URL', key: 'ALERT_WEBHOOK_API_KEY' },
  smtp: { url: 'SMTP_URL', key: 'SMTP_PASSWORD' },
} as const;

/** The variables of email's HTTP mode, which replaces SMTP when EMAIL_API_URL is set. */
export const EMAIL_API_VARIABLES = { url: 'EMAIL_API_URL', key: 'EMAIL_API_KEY' } as const;

/** The variables named in a provider's configuration errors. */
export interface ProviderVariables {
  url: string;
  key: string;
}

export interface ProviderApiKey {
  /** Lower-case header name; `authorization` carries the key as `Bearer <key>`. */
  header: string;
  value: string;
}

export interface HttpProviderEndpoint {
  /** Base URL without a trailing slash; the adapters append their paths (docs/providers.md). */
  url: string;
  apiKey?: ProviderApiKey;
}

export interface SmtpEndpoint {
  host: string;
  port: number;
  /** `smtps://`: TLS from the first byte. */
  secure: boolean;
  /** Refuse to send unless the server upgrades the connection with STARTTLS. */
  requireTls: boolean;
  auth?: { user: string; pass: string };
}

/** The header that carries `key`, in the form its name calls for; none without a key. */
export function apiKeyHeaders(key: ProviderApiKey | undefined): Record<string, string> {
  if (!key) return {};
  return { [key.header]: key.header === 'authorization' ? `Bearer ${key.value}` : key.value };
}

/**
 * SMTP_URL's value as the mailer needs it. `smtp://` upgrades with STARTTLS whenever the server
 * offers it, and insists on it (`?starttls=required`) when asked to or when the URL carries
 * credentials, so a password never crosses the network in clear; `smtps://` is TLS from the start.
 * `password` (SMTP_PASSWORD or its file) replaces the URL's own.
 */
export function parseSmtpUrl(value: string, password?: string): SmtpEndpoint {
  const url = new URL(value);
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new Error('expected smtp:// or smtps://');
  if (!url.hostname) throw new Error('no host');
  const starttls = url.searchParams.get('starttls');
  if (starttls !== null && starttls !== 'required') throw new Error('starttls may only be "required"');
  const secure = url.protocol === 'smtps:';
  const user = decodeURIComponent(url.username);
  const pass = password ?? decodeURIComponent(url.password);
  if (!user && pass) throw new Error('a password without a user');
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    // 587 is the submission port for STARTTLS, 465 the one for implicit TLS (RFC 8314).
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    requireTls: !secure && (starttls === 'required' || user !== ''),
    ...(user ? { auth: { user, pass } } : {}),
  };
}

/** SMTP_URL for an endpoint, without its password (that travels in SMTP_PASSWORD). */
export function formatSmtpUrl({ host, port, secure, requireTls, auth }: SmtpEndpoint): string {
  const user = auth ? `${encodeURIComponent(auth.user)}@` : '';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return `${secure ? 'smtps' : 'smtp'}://${user}${hostPart}:${port}${requireTls && !auth ? '?starttls=required' : ''}`;
}
