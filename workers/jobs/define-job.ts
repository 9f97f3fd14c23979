// The shape of a job contract: which queue, the job's name, the zod schema of its payload, its
// deterministic id, its deadline, where its effect is recorded, and its default options. Contracts
// open no connection and have no side effects, so the web app imports them (through
// job-contracts.ts) to enqueue with types, and the handler parses with the same schema.
import type { DeduplicationOptions, JobsOptions } from 'bullmq';
import type { z } from 'zod';
import type { JobEffect } from '@/lib/job-effects';
import type { OutboxEntry } from '@/lib/outbox';
import type { ProviderName } from '@/lib/providers';
import { QUEUE_PROVIDERS, type QueueName } from '@/lib/queues';
import type { Sql } from '@/lib/sql';
import { RETRY_BACKOFF_TYPE, RETRY_POLICIES } from '@/workers/resilience/retry-policy';

export interface JobContract<Payload extends Record<string, unknown> = Record<string, unknown>> {
  readonly queue: QueueName;
  /** verb-noun kebab-case, e.g. `send-welcome-email` */
  readonly name: string;
  readonly payload: z.ZodType<Payload>;
  /**
   * Derived from the payload, so adding the same job twice is a no-op while it is in the queue.
   * It is also the base of the idempotency key sent to the provider.
   */
  jobId(payload: Payload): string;
  /** The third party the job calls: its queue's (lib/queues.ts), whose circuit breaker guards it. */
  readonly provider: ProviderName;
  /**
   * Longest one attempt may run. Past it the attempt's AbortSignal fires, the provider call is
   * aborted, and the attempt fails as transient: a hung provider costs one timeout, not a worker.
   */
  readonly timeoutMs: number;
  /**
   * The row whose existence proves the job's effect was applied, under its unique key
   * (lib/job-effects.ts). The handler records it; the reconciler and the status page look it up.
   */
  readonly effect: JobEffect;
  /**
   * Bulk work that one workspace can create in thousands: paced per workspace at the producer
   * (lib/tenant-pacer.ts) so it never delays other workspaces' jobs in the same queue.
   */
  readonly pacedByTenant?: boolean;
  /** Requests of which one run serves many: collapsed in the queue by BullMQ's deduplication. */
  readonly deduplication?: JobDeduplication<Payload>;
  /** Defaults: the queue's retry policy (retry-policy.ts) and RETENTION. */
  readonly options: JobsOptions;
}

/**
 * Work where one run serves every request made before it (docs/backpressure.md#job-ids-or-deduplication).
 * Each request keeps its own job id and outbox row; an add whose deduplication id already has a
 * job in the queue is collapsed into that job by BullMQ, so the request's own job never exists.
 */
export interface JobDeduplication<Payload extends Record<string, unknown>> {
  /** BullMQ's deduplication for one payload: the id requests collapse under, and the mode. */
  options(payload: Payload): DeduplicationOptions;
  /**
   * SQL that is true when the request (its user, and when it was made) was served by a run after
   * it: how the reconciler accounts for a row whose own job never existed once the job it
   * collapsed into has finished.
   */
  servedSql(request: { userId: Sql; since: Sql }): Sql;
}

/**
 * The options one job is added with: its contract's defaults, and its deduplication for this
 * payload. A payload that fails its schema is added without, and fails in its handler.
 */
export function addOptions(contract: JobContract, payload: Record<string, unknown>): JobsOptions {
  if (!contract.deduplication) return contract.options;
  const parsed = contract.payload.safeParse(payload);
  if (!parsed.success) return contract.options;
  return { ...contract.options, deduplication: contract.deduplication.options(parsed.data) };
}

/** The retention every job shares: enough history for the status page and the admin, bounded. */
export const RETENTION: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> = {
  // A day of completed jobs (at most 10,000 per queue) lets the status page and admin show them;
  // the effect tables are the lasting record.
  removeOnComplete: { age: 24 * 60 * 60, count: 10_000 },
  // Failed jobs stay a week for inspection and replay.
  removeOnFail: { age: 7 * 24 * 60 * 60 },
};

export function defineJob<Payload extends Record<string, unknown>>(
  contract: Omit<JobContract<Payload>, 'options' | 'provider'> & { options?: JobsOptions },
): JobContract<Payload> {
  const retry: JobsOptions = {
    attempts: RETRY_POLICIES[contract.queue].attempts,
    backoff: { type: RETRY_BACKOFF_TYPE },
  };
  return Object.freeze({
    ...contract,
    provider: QUEUE_PROVIDERS[contract.queue],
    options: { ...RETENTION, ...retry, ...contract.options },
  });
}

/** The outbox row of one job: its contract's queue, name and id, and the parsed payload. */
export function outboxEntry<Payload extends Record<string, unknown>>(
  contract: JobContract<Payload>,
  payload: Payload,
  { tenant, availableAt }: { tenant?: string; availableAt?: Date } = {},
): OutboxEntry {
  const parsed = contract.payload.parse(payload);
  if (contract.pacedByTenant && !tenant) throw new Error(`${contract.name} is paced by tenant and needs one`);
  return {
    queue: contract.queue,
    jobName: contract.name,
    jobId: contract.jobId(parsed),
    payload: parsed,
    tenant: tenant ?? null,
    ...(availableAt ? { availableAt } : {}),
  };
}
