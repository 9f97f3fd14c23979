// Per-tenant fairness on open-source BullMQ: a virtual clock per workspace.
//
// BullMQ's own per-group fairness is a Pro feature, and a queue is first in, first out within a
// priority: without help, workspace B's one invitation would wait behind all of workspace A's
// 5,000. So bulk work is paced at the producer. Each workspace owns a clock in Valkey saying when
// its next job may start; a batch of n jobs reserves n consecutive slots one queue-interval apart
// (80 emails/s → 12.5 ms), starting at that clock or now, whichever is later, and each job is added
// with the delay that puts it in its slot. A's 5,000 invitations therefore enter the runnable part
// of the queue at the rate the queue can take them, spread over a minute; B's invitation reserves
// a slot at "now" on B's own clock, and lands in front of everything A has not yet released. Two
// busy workspaces each release at the full rate and share the queue half and half.
//
// Cost: one small script per batch (not per job) at enqueue, nothing in the workers, and BullMQ's
// ordinary delayed set, which the workers already drain. The clock's key expires once its time has
// passed, so idle workspaces leave nothing behind. Its key carries the queue's hash tag, so it
// lives in the queue's Valkey Cluster slot.
//
// Limits, by design: the pace is the queue's nominal rate (lib/queues.ts). While the
// workers fall behind it (a slow provider), released jobs pile up in arrival order and a newcomer
// waits behind what was already released; it still never waits behind what was not. The clock is
// per workspace, so splitting one big batch into many requests gains a workspace nothing.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * KEYS[1] the workspace's clock; ARGV[1] slots wanted; ARGV[2] ms per slot.
 * Returns the ms from now (Valkey's clock, so every producer agrees) to the first reserved slot.
 */
const RESERVE_SLOTS = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(nextFree, now)
local after = start + tonumber(ARGV[1]) * tonumber(ARGV[2])
redis.call('SET', KEYS[1], tostring(after), 'PXAT', math.ceil(after) + 1000)
return tostring(start - now)
`;

type PacerClient = Redis & {
  reserveTenantSlots(key: string, slots: number, intervalMs: number): Promise<string>;
};

export function tenantClockKey(queue: Queue, tenant: string): string {
  return `${queue.qualifiedName}:tenant-clock:${tenant}`;
}

/**
 * Reserves `count` slots for `tenant` on `queue`, `intervalMs` apart, and returns each job's delay
 * in ms, in order.
 */
export async function reserveTenantSlots(
  queue: Queue,
  tenant: string,
  count: number,
  intervalMs: number,
): Promise<number[]> {
  if (count === 0) return [];
  // The backend hands out the ioredis connection the queue was given (lib/valkey.ts).
  const client = (await queue.getBackend().client) as unknown as PacerClient;
  if (typeof client.reserveTenantSlots !== 'function') {
    // ioredis sends EVALSHA and falls back to EVAL once per connection.
    client.defineCommand('reserveTenantSlots', { numberOfKeys: 1, lua: RESERVE_SLOTS });
  }
  const firstDelayMs = Number(await client.reserveTenantSlots(tenantClockKey(queue, tenant), count, intervalMs));
  return Array.from({ length: count }, (_, index) => Math.round(firstDelayMs + index * intervalMs));
}
