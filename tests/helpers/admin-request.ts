// Requests to the admin API as a script or a browser would send them, for tests that call the
// request functions directly.

export const basicAuth = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let wrongGuesses = 0;

/**
 * `auth` defaults to `rightAuth`; null sends none. Wrong credentials count towards the per-address
 * login throttle, so each wrong guess comes from its own address and a file's refusals never
 * throttle its own admin.
 */
export function adminRequest(
  method: string,
  url: string,
  { rightAuth, auth = rightAuth, body, origin }: { rightAuth: string; auth?: string | null; body?: unknown; origin?: string },
): Request {
  const headers: Record<string, string> = { host: 'app.test' };
  if (auth) headers.authorization = auth;
  if (auth && auth !== rightAuth) headers['x-forwarded-for'] = `198.51.100.${(wrongGuesses = (wrongGuesses % 250) + 1)}`;
  if (origin) headers.origin = origin;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Request(`http://app.test${url}`, { method, headers, body: payload });
}
