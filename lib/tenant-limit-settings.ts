// TENANT_LIMITS: how much of each queue one tenant may hold, enforced in the worker by
// lib/tenant-limits.ts. Parsed by lib/config.ts; docs/backpressure.md explains the numbers.
import type { QueueName } from './config.ts';

export interface TenantLimit {
  /** Jobs of one tenant running at once, summed over every worker process; 0: no cap. */
  concurrency: number;
  /** Jobs of one tenant started per second, over every worker process; 0: no rate. */
  perSecond: number;
}

/**
 * Email is where one workspace makes work in bulk (5,000 invitations). Eight sends at once is
 * 160–800 a second at the SMTP relay's usual 10–50 ms, far above the queue's 80/s limit, so a
 * workspace alone still gets the whole queue; only when sends slow down (a slow relay: 1 s each)
 * does the cap bind, and then it keeps 12 of a process's 20 slots for every other workspace. No
 * default rate: the queue's own limiter already keeps the provider's, and a tenant alone should
 * have all of it. The other queues see one job per signup per tenant: nothing to cap.
 */
export const DEFAULT_TENANT_LIMITS: Readonly<Partial<Record<QueueName, TenantLimit>>> = {
  email: { concurrency: 8, perSecond: 0 },
};

const ENTRY = /^([a-z]+)=(\d+)(?:\/(\d+(?:\.\d+)?))?$/;

/**
 * `email=8,crm=2/10`: per queue, the concurrency cap and, after a slash, the rate per second; `=0`
 * turns a queue's limits off. Queues not named keep their defaults. Returns the problem as text.
 */
export function parseTenantLimits(
  text: string | undefined,
  queues: readonly QueueName[],
): { limits: Partial<Record<QueueName, TenantLimit>> } | { problem: string } {
  const limits = new Map(Object.entries(DEFAULT_TENANT_LIMITS) as [QueueName, TenantLimit][]);
  if (text === undefined || text.trim() === '') return { limits: Object.fromEntries(limits) };
  for (const entry of text.split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = ENTRY.exec(entry);
    const queue = match?.[1] as QueueName | undefined;
    if (!match || !queue || !queues.includes(queue)) {
      return { problem: `"${entry}" is not <queue>=<concurrency>[/<per second>] with a queue of ${queues.join(', ')}` };
    }
    const concurrency = Number(match[2]);
    const perSecond = match[3] === undefined ? 0 : Number(match[3]);
    if (concurrency === 0 && perSecond === 0) limits.delete(queue);
    else limits.set(queue, { concurrency, perSecond });
  }
  return { limits: Object.fromEntries(limits) };
}

export function formatTenantLimits(limits: Partial<Record<QueueName, TenantLimit>>, queues: readonly QueueName[]): string {
  return queues.map((queue) => `${queue}=${limits[queue]?.concurrency ?? 0}/${limits[queue]?.perSecond ?? 0}`).join(',');
}
