// Who is asking: the client's address, taken from the socket, where the client cannot choose it.
// Route handlers and server actions never see the socket, so the web process decides the address
// as each request arrives, in Node's `http.server.request.start` diagnostics channel (published
// before the server emits 'request'), and writes it over X-Forwarded-For; Next only fills that
// header when it is absent, so a header the client sent would otherwise reach the app.
// TRUSTED_PROXY_HOPS says how many proxies of ours append to the header; clientAddress() reads the
// result back. docs/security.md has the threat, docs/operations.md the setting.
import { randomBytes } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingHttpHeaders } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';

/** A request that names no address: a direct call (tests, scripts), never one the stamp saw. */
export const UNKNOWN_CLIENT = 'unknown';

/**
 * Requests a stamping process received before the stamp was installed: those accepted while the
 * server was still starting, before instrumentation's register() ran. Their address is unknown,
 * so they share one budget rather than each naming its own.
 */
export const UNSTAMPED_CLIENT = 'unstamped';

const REQUEST_START = 'http.server.request.start';
/** Carries this process's secret on every request the stamp saw; a client cannot guess it. */
const STAMP_HEADER = 'x-client-address-stamp';

/**
 * The client as every budget counts it: an IPv4 address (also when written IPv4-mapped,
 * ::ffff:1.2.3.4), or the /64 an IPv6 address belongs to, since one subscriber is handed a whole
 * /64 and can pick a new address in it for each request.
 */
export function clientAddress(headers: Headers): string {
  const stamp = holder.__signupClientAddressStamp;
  if (stamp && headers.get(STAMP_HEADER) !== stamp.secret) return UNSTAMPED_CLIENT;
  const last = headers.get('x-forwarded-for')?.split(',').at(-1)?.trim();
  return last ? addressGroup(last) : UNKNOWN_CLIENT;
}

/** What budgets key on for `address`; a string that is not an address is kept as it is. */
export function addressGroup(address: string): string {
  const normal = normalAddress(address);
  if (normal === undefined) return address.trim();
  if (isIPv4(normal)) return normal;
  const hextets = ipv6Hextets(normal);
  return `${hextets.slice(0, 4).map((hextet) => hextet.toString(16)).join(':')}::/64`;
}

/**
 * The client's address for a request that came in on `socketAddress` with `forwardedFor`, when
 * `hops` proxies of ours each append the address they were reached from: the hops-th entry from the
 * end. With 0, or with fewer entries than hops (a request that went round the proxies), the socket's.
 */
export function addressFromHops(forwardedFor: string | string[] | undefined, socketAddress: string | undefined, hops: number): string {
  if (hops > 0) {
    const entries = [forwardedFor ?? []].flat().join(',').split(',').map((entry) => entry.trim()).filter(Boolean);
    const forwarded = entries.length >= hops ? normalAddress(entries[entries.length - hops] ?? '') : undefined;
    if (forwarded !== undefined) return forwarded;
  }
  return (socketAddress !== undefined && normalAddress(socketAddress)) || UNKNOWN_CLIENT;
}

/** Writes the client's address over X-Forwarded-For, with the stamp that says it was written here. */
export function stampClientAddress(
  request: { headers: IncomingHttpHeaders },
  socket: { remoteAddress?: string } | undefined,
  hops: number,
  secret: string,
): void {
  let address: string;
  try {
    address = addressFromHops(request.headers['x-forwarded-for'], socket?.remoteAddress, hops);
  } catch {
    // A subscriber that throws takes the process down (Node rethrows on the next tick), and the
    // request must not keep the header its client sent: it counts as naming no address instead.
    address = UNKNOWN_CLIENT;
  }
  request.headers['x-forwarded-for'] = address;
  request.headers[STAMP_HEADER] = secret;
}

interface InstalledStamp {
  secret: string;
  onRequestStart: (message: unknown) => void;
}

// On globalThis: instrumentation.ts installs the stamp, and the routes and actions that read it are
// bundled apart from it, with their own copy of this module, in the same process.
const holder = globalThis as typeof globalThis & { __signupClientAddressStamp?: InstalledStamp };

/**
 * Stamps every request this process's HTTP servers receive from now on (instrumentation.ts, at
 * start). Installing again replaces the previous stamp. Returns what removes it (for tests).
 */
export function installClientAddressStamp(hops: number): () => void {
  const previous = holder.__signupClientAddressStamp;
  if (previous) diagnosticsChannel.unsubscribe(REQUEST_START, previous.onRequestStart);
  const secret = randomBytes(16).toString('hex');
  const onRequestStart = (message: unknown) => {
    const { request, socket } = message as { request: { headers: IncomingHttpHeaders }; socket?: { remoteAddress?: string } };
    stampClientAddress(request, socket, hops, secret);
  };
  const installed = { secret, onRequestStart };
  diagnosticsChannel.subscribe(REQUEST_START, onRequestStart);
  holder.__signupClientAddressStamp = installed;
  return () => {
    diagnosticsChannel.unsubscribe(REQUEST_START, onRequestStart);
    if (holder.__signupClientAddressStamp === installed) delete holder.__signupClientAddressStamp;
  };
}

/**
 * `text` as one canonical address, or undefined when it is none: brackets, a zone and a port
 * (`[2001:db8::1]:443`, `198.51.100.7:5000`, as some proxies write them) are dropped, and an
 * IPv4-mapped IPv6 address becomes the IPv4 address it carries.
 */
function normalAddress(text: string): string | undefined {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(trimmed);
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(trimmed);
  const bare = (bracketed?.[1] ?? withPort?.[1] ?? trimmed).replace(/%.*$/, '');
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return undefined;
  const hextets = ipv6Hextets(bare);
  const mapped = hextets.slice(0, 5).every((hextet) => hextet === 0) && hextets[5] === 0xffff;
  if (!mapped) return bare.toLowerCase();
  const [high = 0, low = 0] = hextets.slice(6);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** The eight 16-bit groups of a valid IPv6 address, `::` and a dotted IPv4 tail expanded. */
function ipv6Hextets(address: string): number[] {
  let text = address;
  const tail: number[] = [];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, dotted.index);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((hextet) => Number.parseInt(hextet, 16)));
  const [head = '', rest] = text.split('::');
  const before = groups(head);
  const after = [...groups(rest ?? ''), ...tail];
  const zeros = rest === undefined ? [] : Array<number>(8 - before.length - after.length).fill(0);
  return [...before, ...zeros, ...after];
}
