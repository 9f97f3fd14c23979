// Who may use the mocks' control and inspect routes (docs/operations.md, "Mock providers"). They
// switch faults and show every email with its verification link, so with MOCKS_TOKEN set they
// answer only `Authorization: Bearer <token>`, and the mocks refuse to listen beyond loopback
// without one. /__health stays open; the provider routes take MOCKS_API_KEY instead, when set, as
// a real provider takes its API key (requireApiKey).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { HttpError } from './http-exchange';

// Addresses only this machine can reach. BlockList also matches IPv4-mapped IPv6 (::ffff:127.0.0.1)
// and every spelling of ::1.
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** True for 127.0.0.0/8, ::1 and `localhost`; any other name or address may be reachable from elsewhere. */
export function isLoopback(host: string): boolean {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  const family = isIP(bare);
  return family !== 0 && LOOPBACK.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/** Why the mocks must not listen on `host`, or undefined when they may. */
export function exposureProblem(host: string, token: string | undefined): string | undefined {
  if (token || isLoopback(host)) return undefined;
  return `MOCKS_BIND is ${host}, beyond loopback, so set MOCKS_TOKEN (at least 16 characters; openssl rand -hex 24 makes one), or anyone who reaches the mocks can switch their faults and read every email's links.`;
}

/** Refuses with 401 unless the request carries `token` as its bearer token; no token, no check. */
export function requireControlToken(req: IncomingMessage, token: string | undefined): void {
  if (!token) return;
  const presented = /^Bearer +(\S+)$/i.exec(req.headers.authorization?.trim() ?? '')?.[1] ?? '';
  // Comparing digests gives both sides one length, so timingSafeEqual leaks neither length nor content.
  if (timingSafeEqual(sha256(presented), sha256(token))) return;
  throw new HttpError(401, 'control and inspect routes need Authorization: Bearer <MOCKS_TOKEN>', {
    'www-authenticate': 'Bearer realm="mock providers"',
  });
}

/**
 * Refuses with 401 unless the request carries `key` as `Authorization: Bearer <key>` or as
 * `X-Api-Key: <key>`, the two forms real providers use; no key, no check.
 */
export function requireApiKey(req: IncomingMessage, key: string | undefined): void {
  if (!key) return;
  const bearer = /^Bearer +(\S+)$/i.exec(req.headers.authorization?.trim() ?? '')?.[1];
  const header = req.headers['x-api-key'];
  const presented = bearer ?? (typeof header === 'string' ? header.trim() : '');
  if (timingSafeEqual(sha256(presented), sha256(key))) return;
  throw new HttpError(401, 'provider routes need Authorization: Bearer <MOCKS_API_KEY> or X-Api-Key: <MOCKS_API_KEY>', {
    'www-authenticate': 'Bearer realm="mock providers"',
  });
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
