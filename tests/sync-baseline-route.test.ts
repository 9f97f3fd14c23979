// POST /api/signups/sync makes four provider calls and renders an image per request: a production
// deployment must not hand that to the public. Off unless SYNC_BASELINE=on (this suite leaves it
// off), the route answers 404 and saves nothing.
import { describe, expect, it } from 'vitest';
import { POST } from '@/app/api/signups/sync/route';
import { config } from '@/lib/config';
import { createDb } from '@/lib/db';
import { createPool } from '@/lib/sql';
import { uniqueSignup } from '@/tests/helpers/test-stack';

describe('POST /api/signups/sync with SYNC_BASELINE off', () => {
  it('answers 404 and saves nothing', async () => {
    expect(config().syncBaseline).toBe(false);
    const signup = uniqueSignup();
    const response = await POST(
      new Request('http://app.test/api/signups/sync', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(signup),
      }),
    );
    expect(response.status).toBe(404);
    const pool = createPool(config().databaseUrl, { maxConnections: 1 });
    const db = createDb(pool);
    try {
      expect(await db.user.count({ where: { email: signup.email } })).toBe(0);
    } finally {
      await db.$disconnect();
      await pool.end();
    }
  });
});
