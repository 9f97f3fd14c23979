// Per-tenant limits in the worker, on open-source BullMQ: a cap on one tenant's running jobs and a
// rate of its job starts, held in Valkey so they bind every worker process together. A job over its
// tenant's cap is held (put back as delayed, no attempt spent) in its tenant's line, and each job of
// the tenant that finishes calls the next one in: tenants with backlogs take turns instead of one
// filling the queue. docs/backpressure.md#per-tenant-limits-in-the-worker has the arithmetic.
//
// Keys sit under the queue's qualified name, so under its hash tag, in its Cluster slot.
import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { TenantLimit } from '@/lib/tenant-limit-settings';
import type { Valkey } from '@/lib/valkey';

export type { TenantLimit };

/**
 * KEYS: running (zset job → lease end), held (zset job → time it joined the line), rate (the GCRA's
 * theoretical arrival time), reserved (zset job → its rate slot), tenants (zset tenant → jobs held).
 * ARGV: job id, tenant, cap, lease ms, ms between starts (0: no rate).
 * Reply: {1} admitted; {0, ms, reason, place in line} held.
 */
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local job, tenant = ARGV[1], ARGV[2]
local cap, leaseMs, interval = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])

-- A worker that died leaves its lease behind; it stops counting when the lease ends.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], job) then
  redis.call('ZADD', KEYS[1], now + leaseMs, job)
  return {1}
end

local heldSince = redis.call('ZSCORE', KEYS[2], job)
if heldSince then redis.call('ZREM', KEYS[2], job) end
if cap > 0 and redis.call('ZCARD', KEYS[1]) >= cap then
  -- Back in line where it stood before, if it did.
  redis.call('ZADD', KEYS[2], heldSince or now, job)
  redis.call('PEXPIRE', KEYS[2], 86400000)
  redis.call('ZADD', KEYS[5], redis.call('ZCARD', KEYS[2]), tenant)
  return {0, 0, 'concurrency', redis.call('ZRANK', KEYS[2], job)}
end
if heldSince then
  local left = redis.call('ZCARD', KEYS[2])
  if left > 0 then redis.call('ZADD', KEYS[5], left, tenant) else redis.call('ZREM', KEYS[5], tenant) end
end

if interval > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - 3600000)
  local slot = tonumber(redis.call('ZSCORE', KEYS[4], job) or '-1')
  if slot >= 0 and slot > now then
    return {0, slot - now, 'rate', 0}
  elseif slot >= 0 then
    -- Its slot was paid for when it was reserved.
    redis.call('ZREM', KEYS[4], job)
  else
    local tat = math.max(tonumber(redis.call('GET', KEYS[3]) or '0'), now)
    redis.call('SET', KEYS[3], tostring(tat + interval), 'PX', math.ceil(tat + interval - now) + 1000)
    if tat > now then
      -- The slot is reserved now, so jobs held for the rate come back one interval apart.
      redis.call('ZADD', KEYS[4], tat, job)
      redis.call('PEXPIRE', KEYS[4], math.ceil(tat - now) + 3600000)
      return {0, tat - now, 'rate', 0}
    end
  end
end

redis.call('ZADD', KEYS[1], now + leaseMs, job)
redis.call('PEXPIRE', KEYS[1], leaseMs + 1000)
return {1}
`;

/**
 * KEYS: running, held, tenants. ARGV: job id, tenant. Frees the job's place and takes the tenant's
 * longest-held job out of its line; the caller promotes that job. Reply: its id, or false.
 */
const RELEASE = `
redis.call('ZREM', KEYS[1], ARGV[1])
local next = redis.call('ZPOPMIN', KEYS[2])
if not next[1] then return false end
local left = redis.call('ZCARD', KEYS[2])
if left > 0 then redis.call('ZADD', KEYS[3], left, ARGV[2]) else redis.call('ZREM', KEYS[3], ARGV[2]) end
return next[1]
`;

const SCRIPTS = { ADMIT, RELEASE } as const;
const SHAS = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, lua]) => [name, createHash('sha1').update(lua).digest('hex')]),
) as Record<keyof typeof SCRIPTS, string>;

async function run(redis: Valkey, script: keyof typeof SCRIPTS, keys: string[], args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(SHAS[script], keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(SCRIPTS[script], keys.length, ...keys, ...args);
  }
}

/** A job's tenant: the one it carries (a workspace), else its own subject, else the job itself. */
export function tenantOf(job: { id?: string; data: unknown }): string {
  const data = (job.data ?? {}) as Record<string, unknown>;
  for (const field of ['tenant', 'userId', 'invitationId']) {
    const value = data[field];
    if (typeof value === 'string' && value !== '') return value;
  }
  return job.id ?? 'unknown';
}

export type Admission =
  | { admitted: true }
  | { admitted: false; reason: 'concurrency' | 'rate'; retryInMs: number; placeInLine: number };

export interface TenantLoad {
  tenant: string;
  /** Jobs held back for their turn. */
  held: number;
  /** Jobs running now, across every worker process. */
  running: number;
}

function keys(queueQualifiedName: string, tenant: string) {
  const base = `${queueQualifiedName}:tenant`;
  return {
    running: `${base}:running:${tenant}`,
    held: `${base}:held:${tenant}`,
    rate: `${base}:rate:${tenant}`,
    reserved: `${base}:reserved:${tenant}`,
    tenants: `${base}s`,
  };
}

export class TenantLimits {
  private readonly intervalMs: number;

  constructor(
    private readonly redis: Valkey,
    /** The queue's qualified name (`<prefix>:<name>`), whose hash tag the keys share. */
    private readonly queueQualifiedName: string,
    readonly limit: TenantLimit,
    /** How long a running job counts after its worker last admitted it: its longest possible run. */
    private readonly leaseMs: number,
  ) {
    this.intervalMs = limit.perSecond > 0 ? 1_000 / limit.perSecond : 0;
  }

  async admit(jobId: string, tenant: string): Promise<Admission> {
    const k = keys(this.queueQualifiedName, tenant);
    const reply = (await run(this.redis, 'ADMIT', [k.running, k.held, k.rate, k.reserved, k.tenants], [
      jobId,
      tenant,
      this.limit.concurrency,
      this.leaseMs,
      this.intervalMs,
    ])) as [number, number?, string?, number?];
    if (reply[0] === 1) return { admitted: true };
    return {
      admitted: false,
      reason: reply[2] === 'rate' ? 'rate' : 'concurrency',
      retryInMs: Number(reply[1] ?? 0),
      placeInLine: Number(reply[3] ?? 0),
    };
  }

  /** Frees the job's place (none for ''); returns the tenant's next held job to call in, if any. */
  async release(jobId: string, tenant: string): Promise<string | undefined> {
    const k = keys(this.queueQualifiedName, tenant);
    const next = await run(this.redis, 'RELEASE', [k.running, k.held, k.tenants], [jobId, tenant]);
    return typeof next === 'string' ? next : undefined;
  }
}

/** The same, read through the queue's own connection. */
export async function topHeldTenantsOf(queue: Queue, count: number): Promise<TenantLoad[]> {
  // The backend hands out the ioredis connection the queue was given (lib/valkey.ts).
  const client = (await queue.getBackend().client) as unknown as Valkey;
  return topHeldTenants(client, queue.qualifiedName, count);
}

/** The tenants holding the most jobs back on a queue, for the admin. */
export async function topHeldTenants(redis: Valkey, queueQualifiedName: string, count = 10): Promise<TenantLoad[]> {
  const reply = await redis.zrevrange(keys(queueQualifiedName, '').tenants, 0, count - 1, 'WITHSCORES');
  const pairs: { tenant: string; held: number }[] = [];
  for (let index = 0; index + 1 < reply.length; index += 2) {
    pairs.push({ tenant: reply[index] ?? '', held: Number(reply[index + 1]) });
  }
  const now = Date.now();
  const running = await Promise.all(
    pairs.map(({ tenant }) => redis.zcount(keys(queueQualifiedName, tenant).running, now, '+inf')),
  );
  return pairs.map((pair, index) => ({ ...pair, running: running[index] ?? 0 }));
}
