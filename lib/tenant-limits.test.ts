import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@/lib/config';
import { formatTenantLimits, parseTenantLimits } from '@/lib/tenant-limit-settings';
import { TenantLimits, tenantOf, topHeldTenants } from '@/lib/tenant-limits';
import { QUEUE_NAMES } from '@/lib/queues';
import { waitFor } from '@/tests/helpers/test-stack';

const redis = new Redis(process.env.VALKEY_URL ?? 'redis://127.0.0.1:6379');
const queueName = `test-${crypto.randomUUID()}:{email}:email`;
afterAll(async () => {
  const keys = await redis.keys(`${queueName}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('TENANT_LIMITS', () => {
  it('reads a cap and a rate per queue, keeps the defaults of queues not named, and turns a queue off with 0', () => {
    expect(loadConfig({}).tenantLimits).toEqual({ email: { concurrency: 8, perSecond: 0 } });
    expect(loadConfig({ TENANT_LIMITS: 'crm=2/10' }).tenantLimits).toEqual({
      email: { concurrency: 8, perSecond: 0 },
      crm: { concurrency: 2, perSecond: 10 },
    });
    expect(loadConfig({ TENANT_LIMITS: 'email=0' }).tenantLimits).toEqual({});
  });

  it('refuses what it cannot read, naming the entry and the form', () => {
    expect(() => loadConfig({ TENANT_LIMITS: 'mail=2' })).toThrow(/"mail=2" is not <queue>=<concurrency>\[\/<per second>\]/);
    expect(() => loadConfig({ TENANT_LIMITS: 'email=two' })).toThrow(/"email=two"/);
  });

  it('survives the trip to a child process', () => {
    const limits = { email: { concurrency: 3, perSecond: 0.5 } };
    expect(parseTenantLimits(formatTenantLimits(limits, QUEUE_NAMES), QUEUE_NAMES)).toEqual({ limits });
  });
});

describe('a job without a workspace', () => {
  it('is its own subject’s tenant', () => {
    expect(tenantOf({ id: 'j', data: { invitationId: 'i', tenant: 'acme' } })).toBe('acme');
    expect(tenantOf({ id: 'j', data: { userId: 'u' } })).toBe('u');
    expect(tenantOf({ id: 'j', data: {} })).toBe('j');
  });
});

describe('a tenant at its cap', () => {
  it('holds the next job in line, and the job that finishes calls the longest-held one in', async () => {
    const limits = new TenantLimits(redis, queueName, { concurrency: 1, perSecond: 0 }, 60_000);
    expect(await limits.admit('a1', 'acme')).toEqual({ admitted: true });
    expect(await limits.admit('a2', 'acme')).toMatchObject({ admitted: false, reason: 'concurrency', placeInLine: 0 });
    expect(await limits.admit('a3', 'acme')).toMatchObject({ admitted: false, placeInLine: 1 });
    // Held again, a job keeps its place in line.
    expect(await limits.admit('a2', 'acme')).toMatchObject({ admitted: false, placeInLine: 0 });
    expect(await limits.admit('b1', 'other')).toEqual({ admitted: true });
    expect(await topHeldTenants(redis, queueName)).toEqual([{ tenant: 'acme', held: 2, running: 1 }]);

    expect(await limits.release('a1', 'acme')).toBe('a2');
    expect(await limits.admit('a2', 'acme')).toEqual({ admitted: true });
    expect(await topHeldTenants(redis, queueName)).toEqual([{ tenant: 'acme', held: 1, running: 1 }]);
  });

  it('gets its place back when a crashed worker’s lease ends', async () => {
    const limits = new TenantLimits(redis, queueName, { concurrency: 1, perSecond: 0 }, 300);
    expect(await limits.admit('c1', 'crashy')).toEqual({ admitted: true });
    expect(await limits.admit('c2', 'crashy')).toMatchObject({ admitted: false });
    // c1's worker never releases it.
    await waitFor(async () => (await limits.admit('c2', 'crashy')).admitted, { what: 'the lease to end', timeoutMs: 2_000 });
  });
});
