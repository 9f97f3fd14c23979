// Values never become SQL text: each is a bind parameter, nested statements are renumbered, and a
// value written to break out of its quotes comes back as the string it was. Against the real
// PostgreSQL.
import { afterAll, describe, expect, it } from 'vitest';
import { config } from '@/lib/config';
import { createPool, join, query, sql } from '@/lib/sql';

const pool = createPool(config().databaseUrl, { maxConnections: 1 });
afterAll(() => pool.end());

const HOSTILE = `x'); DROP TABLE users; --`;

describe('sql', () => {
  it('sends every value as a bind parameter, never as text', () => {
    const statement = sql`SELECT ${HOSTILE}::text AS v WHERE ${1} = ${1}`;
    expect(statement.text).toBe('SELECT $1::text AS v WHERE $2 = $3');
    expect(statement.values).toEqual([HOSTILE, 1, 1]);
    expect(statement.text).not.toContain('DROP');
  });

  it('renumbers the parameters of a nested statement', () => {
    const nested = sql`SELECT ${'a'} ${sql`AND ${'b'}`} ${join([sql`${'c'}`, sql`${'d'}`])}`;
    expect(nested.text).toBe('SELECT $1 AND $2 $3, $4');
    expect(nested.values).toEqual(['a', 'b', 'c', 'd']);
  });

  it('gives back a hostile value as the string it was', async () => {
    const rows = await query<{ v: string }>(pool, sql`SELECT ${HOSTILE}::text AS v`);
    expect(rows).toEqual([{ v: HOSTILE }]);
    const [users] = await query<{ present: boolean }>(pool, sql`SELECT to_regclass('users') IS NOT NULL AS present`);
    expect(users?.present).toBe(true);
  });
});

describe('a pool whose connection the server drops while it is checked out', () => {
  it('fails the holder, not the process, and serves the next caller on a new connection', async () => {
    const dropped = createPool(config().databaseUrl, { maxConnections: 1 });
    const admin = createPool(config().databaseUrl, { maxConnections: 1 });
    try {
      const client = await dropped.connect();
      const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
      // What a PostgreSQL restart, or the chaos soak's refusal, does to a session. The client's
      // 'error' event follows; with no listener on it, Node would end the process (vitest reports
      // that as an unhandled error, failing this file).
      const ended = new Promise((resolve) => client.once('end', resolve));
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await ended;
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release(true);
      expect((await dropped.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await Promise.all([dropped.end(), admin.end()]);
    }
  });
});
