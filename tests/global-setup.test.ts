import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropEarlierRunsDatabases } from './global-setup';

// A base name of its own, so this never drops the databases of the run it is part of.
const base = `signup_gs_${randomUUID().slice(0, 8)}`;
const serverUrl = new URL(process.env.DATABASE_URL ?? '');
serverUrl.pathname = '/postgres';
let admin: pg.Client;

function urlOf(name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function databases(): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1`, [`${base}%`]);
  return rows.map((row) => row.datname);
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: serverUrl.toString() });
  await admin.connect();
});
afterAll(async () => {
  for (const name of await databases()) await admin.query(`DROP DATABASE ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  await admin.end();
});

describe('the start of a test run', () => {
  it("drops the worker databases an earlier run left, leaves one in use and every other database alone", async () => {
    for (const name of [`${base}_1`, `${base}_2`, `${base}_3`, `${base}_other`, base]) {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    }
    const inUse = new pg.Client({ connectionString: urlOf(`${base}_3`) });
    await inUse.connect();
    try {
      await dropEarlierRunsDatabases({ DATABASE_URL: urlOf('signup'), TEST_DATABASE: base });
    } finally {
      await inUse.end();
    }
    expect(await databases()).toEqual([base, `${base}_3`, `${base}_other`].sort());
  });
});
