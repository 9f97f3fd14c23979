// Who may use /api/admin/*: HTTP Basic credentials matching ADMIN_USER / ADMIN_PASSWORD, compared in
// constant time. Without a configured password nobody may. State-changing requests that carry an
// Origin must come from this site: browsers replay cached Basic credentials on cross-site requests,
// so the Origin check is what stops another site from replaying or discarding dead letters.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface AdminCredentials {
  user: string;
  password?: string;
}

export interface AdminIdentity {
  user: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function authenticateAdmin(request: Request, admin: AdminCredentials): AdminIdentity | Response {
  const given = basicCredentials(request.headers.get('authorization'));
  // Both comparisons always run, so timing says nothing about which part was wrong.
  const userMatches = sameSecret(given?.user ?? '', admin.user);
  const passwordMatches = sameSecret(given?.password ?? '', admin.password ?? '');
  if (!given || !admin.password || !userMatches || !passwordMatches) {
    return Response.json(
      { error: 'Authentication required.' },
      { status: 401, headers: { 'www-authenticate': 'Basic realm="admin", charset="UTF-8"' } },
    );
  }
  if (!SAFE_METHODS.has(request.method) && !sameOrigin(request)) {
    return Response.json({ error: 'Cross-site request refused.' }, { status: 403 });
  }
  return { user: given.user };
}

function basicCredentials(header: string | null): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Hashing first gives equal lengths, which timingSafeEqual requires, without leaking the length. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** No Origin (curl, scripts) is allowed; a browser's Origin must name this host. */
function sameOrigin(request: Request): boolean {
  const origin = request.headers.get('origin');
  if (origin === null) return true;
  const host = request.headers.get('x-forwarded-host') ?? request.headers.get('host');
  try {
    return host !== null && new URL(origin).host === host;
  } catch {
    return false;
  }
}
