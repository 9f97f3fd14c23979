// Who is asking: the web takes a client's address from its connection (lib/client-address.ts), so
// X-Forwarded-For, which any client can write, buys no extra tries and locks out nobody it names.
// Shown on wrong admin credentials, whose budget is on in this suite. The suite runs with
// SIGNUP_RATE_LIMIT_PER_MINUTE=0, since it signs up many users from one address, so the same
// claim for POST /api/signups is tested against a real HTTP server in tests/rate-limits.test.ts.
// The guesser connects from a second loopback address, 127.0.0.2, so the suite's own (127.0.0.1,
// Playwright's `request`) keeps its budget for the specs after this one.
import http from 'node:http';
import { ADMIN_HEADERS } from './support/admin-console';
import { E2E } from './support/e2e-environment';
import { expect, test } from './support/fixtures';

const GUESSER = '127.0.0.2';

/** The status of a GET sent from the guesser's own connection. */
function statusFromGuesser(path: string, headers: Record<string, string>): Promise<number> {
  const url = new URL(path, E2E.baseUrl);
  return new Promise((resolve, reject) => {
    http
      .get({ host: url.hostname, port: url.port, path: url.pathname, headers, localAddress: GUESSER }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

const basic = (password: string) => `Basic ${Buffer.from(`${E2E.admin.user}:${password}`).toString('base64')}`;

test('a guesser that rotates X-Forwarded-For gets no extra tries, and locks out no one it names', async ({ request }) => {
  const guesses: number[] = [];
  for (let guess = 1; guess <= 7; guess += 1) {
    guesses.push(await statusFromGuesser('/api/admin/dlq', { authorization: basic(`guess-${guess}`), 'x-forwarded-for': `198.51.100.${guess}` }));
  }
  // Five wrong attempts per address at once (app/_admin/auth/login-throttle.ts), then 429.
  expect(guesses).toEqual([401, 401, 401, 401, 401, 429, 429]);
  // Refused before being judged: even the right password tells the guesser nothing now.
  expect(await statusFromGuesser('/api/admin/dlq', { authorization: basic(E2E.admin.password), 'x-forwarded-for': '198.51.100.99' })).toBe(429);

  // Another connection is another client, whichever address its header names.
  const admin = await request.get('/api/admin/dlq', { headers: { ...ADMIN_HEADERS, 'x-forwarded-for': GUESSER } });
  expect(admin.status()).toBe(200);
});
