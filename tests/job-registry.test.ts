// The job registry is complete: every contract has a handler, a verb-noun name, an effect whose
// table and key column exist with a unique index, and a row in the idempotency suite. A job that
// misses any of these fails here, before it can run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@/lib/config';
import { createDb, type Db } from '@/lib/db';
import { EFFECT_TABLES } from '@/lib/job-effects';
import { ALL_JOBS, jobContract } from '@/workers/jobs/job-contracts';
import { JOB_HANDLERS } from '@/workers/jobs/job-handlers';
import { JOB_CASES } from '@/tests/helpers/job-cases';

/** The verbs a job's name may start with: what a job does to the world, said plainly. */
const VERBS = ['send', 'sync', 'generate', 'track', 'delete', 'erase', 'render', 'notify'];

let db: Db;
beforeAll(() => {
  db = createDb(loadConfig().databaseUrl, { maxConnections: 1 });
});
afterAll(async () => {
  await db.$disconnect();
});

describe('the job registry', () => {
  it('names every job once', () => {
    const names = ALL_JOBS.map((contract) => contract.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(jobContract(name)?.name).toBe(name);
  });

  it('pairs the contracts with handlers one to one', () => {
    expect([...JOB_HANDLERS.keys()].sort()).toEqual(ALL_JOBS.map((contract) => contract.name).sort());
    for (const [name, handler] of JOB_HANDLERS) expect(handler.contract).toBe(jobContract(name));
  });

  it('gives every job a row in the idempotency suite', () => {
    expect(Object.keys(JOB_CASES).sort()).toEqual(ALL_JOBS.map((contract) => contract.name).sort());
  });

  describe.each(ALL_JOBS.map((contract) => [contract.name, contract] as const))('%s', (name, contract) => {
    it('has a verb-noun kebab-case name', () => {
      expect(name).toMatch(/^[a-z]+(-[a-z]+)+$/);
      expect(VERBS).toContain(name.split('-')[0]);
    });

    it('carries ids only in its payload: no name, address or token goes to Valkey', () => {
      const payload = { userId: '00000000-0000-4000-8000-000000000001', requestId: '00000000-0000-4000-8000-000000000002', invitationId: '00000000-0000-4000-8000-000000000003' };
      const personal = { email: 'ada@example.com', name: 'Ada', token: 'secret' };
      const parsed = contract.payload.parse({ ...payload, ...personal }) as Record<string, unknown>;
      expect(Object.keys(parsed).length).toBeGreaterThan(0);
      for (const [key, value] of Object.entries(parsed)) {
        expect(key, `${name}'s payload`).toMatch(/Id$/);
        expect(String(value)).toMatch(/^[0-9a-f-]{36}$/);
      }
    });

    it('derives its job id from its payload, with its name in it', () => {
      const payload = { userId: '00000000-0000-4000-8000-000000000001', requestId: '00000000-0000-4000-8000-000000000002', invitationId: '00000000-0000-4000-8000-000000000003' };
      const id = contract.jobId(contract.payload.parse(payload));
      expect(id.startsWith(`${name}-`)).toBe(true);
      expect(contract.jobId(contract.payload.parse(payload))).toBe(id);
    });

    it('declares an effect recorded under a unique key that exists in the database', async () => {
      const { table, column } = contract.effect;
      expect(EFFECT_TABLES[table] as readonly string[]).toContain(column);
      const unique = await db.$queryRaw<Array<{ indexname: string }>>`
        SELECT i.relname AS indexname
          FROM pg_index x
          JOIN pg_class i ON i.oid = x.indexrelid
          JOIN pg_class t ON t.oid = x.indrelid
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
         WHERE t.relname = ${table} AND a.attname = ${column} AND x.indisunique AND x.indnatts = 1`;
      expect(unique, `${table}.${column} has a unique index of its own`).toHaveLength(1);
    });
  });
});
