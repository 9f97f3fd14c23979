// The maintenance queue: the chores that keep the system honest and bounded, each started by a
// BullMQ job scheduler and run by whichever worker process is free.
//
//   reconcile-signup-effects   every RECONCILE_EVERY_MS   puts back jobs Valkey lost (reconciler.ts)
//   send-dead-letter-digest    daily at 08:00 UTC         unresolved dead letters (dead-letter-digest.ts)
//   sweep-retention            hourly                     old completed jobs, old outbox rows, accounts never
//                                                         confirmed, long-expired links (retention-sweep.ts)
//
// Beside the queue, each process runs the redrive loop (dead-letter-redrive.ts): batches paced in
// seconds that any process may take, which a scheduler's once-per-interval job does not fit.
//
// Every worker process upserts the three schedulers and runs this queue's Worker. Upserting is
// idempotent (an existing scheduler keeps its next run), so each task still runs once per interval
// across all processes. The Worker picks the task by the job's name; a job with any other name
// fails without running anything, so a stray job cannot start a reconcile pass.
import { Queue, UnrecoverableError, Worker, type Job, type JobSchedulerTemplateOptions } from 'bullmq';
import type { Valkey } from '@/lib/valkey';
import type { Config } from '@/lib/config';
import type { Logger } from '@/lib/log';
import type { QueueSet } from '@/lib/queues';
import type { Pool } from '@/lib/sql';
import { isConnectionError } from '@/lib/valkey';
import { closeWithGrace, sleep } from '@/lib/deadline';
import { sendDeadLetterDigest, type DeadLetterDigestResult } from '@/workers/maintenance/dead-letter-digest';
import {
  RECONCILE_DEFAULTS,
  RECONCILE_EVERY_MS,
  reconcileOnce,
  type ReconcileOptions,
  type ReconcileResult,
} from '@/workers/maintenance/reconciler';
import { sweepRetention, type RetentionSweepOptions, type RetentionSweepResult } from '@/workers/maintenance/retention-sweep';
import { startDeadLetterRedrives, type RedriveLoopOptions } from '@/workers/maintenance/dead-letter-redrive';

export const MAINTENANCE_QUEUE = 'maintenance';

/** Each task's job name, which is also its scheduler's id. */
export const MAINTENANCE_TASKS = {
  reconcile: 'reconcile-signup-effects',
  digest: 'send-dead-letter-digest',
  sweep: 'sweep-retention',
} as const;
type TaskName = (typeof MAINTENANCE_TASKS)[keyof typeof MAINTENANCE_TASKS];

/**
 * 08:00 UTC: the digest is read by people, so it comes once a day at a fixed hour, at the start of
 * the European working day and before the American one.
 */
export const DIGEST_PATTERN = '0 8 * * *';
/**
 * Hourly: what the sweep removes piles up at the pace of signups, so an hour keeps every pass a
 * few batches long, and an hour's delay in removing day-old jobs or week-old rows costs nothing.
 */
export const SWEEP_EVERY_MS = 60 * 60 * 1_000;

/**
 * Finished runs kept per task (their counts are the jobs' return values): about a day of
 * reconciles, a week of sweeps, a month of digests. Enough to see what happened, bounded.
 */
const RUNS_KEPT: Readonly<Record<TaskName, number>> = {
  [MAINTENANCE_TASKS.reconcile]: 1_440,
  [MAINTENANCE_TASKS.sweep]: 168,
  [MAINTENANCE_TASKS.digest]: 31,
};

/**
 * A failed digest waits a day for the next one, so it is retried: 1, 2, 4 and 8 minutes apart,
 * which rides out a webhook restart or a short outage and stays within the same morning (and the
 * same date, hence the same idempotency key). The reconciler and the sweep simply run again.
 */
const DIGEST_RETRIES: JobSchedulerTemplateOptions = { attempts: 5, backoff: { type: 'exponential', delay: 60_000 } };

export interface MaintenanceSettings {
  /** Between reconcile passes; 0 turns the reconciler off and removes its scheduler. */
  reconcileEveryMs: number;
  reconcile: Omit<ReconcileOptions, 'log'>;
  /** Cron pattern of the digest, in UTC. */
  digestPattern: string;
  sweepEveryMs: number;
  sweep: Partial<RetentionSweepOptions>;
  /** How often this process upserts the schedulers again (see the loop in startMaintenance). */
  rescheduleEveryMs: number;
  redrives: RedriveLoopOptions;
}

export type MaintenanceResult = ReconcileResult | DeadLetterDigestResult | RetentionSweepResult | { skipped: string };

export interface MaintenanceDeps {
  config: Config;
  pool: Pool;
  connection: Valkey;
  /** The job queues, where the reconciler puts jobs back and the sweep cleans. */
  queues: QueueSet;
  log: Logger;
}

/** Same shape as the job queues' prefixes (lib/queues.ts): one hash tag, one Cluster slot. */
export function maintenanceQueuePrefix(basePrefix: string): string {
  return `${basePrefix}:{${MAINTENANCE_QUEUE}}`;
}

/**
 * Upserts the schedulers, and removes the reconciler's when it is turned off (a process started
 * with RECONCILE_EVERY_MS=0 must also stop a schedule an earlier deploy left behind).
 */
export async function scheduleMaintenance(
  queue: Queue,
  { reconcileEveryMs, digestPattern, sweepEveryMs }: Pick<MaintenanceSettings, 'reconcileEveryMs' | 'digestPattern' | 'sweepEveryMs'>,
): Promise<void> {
  const { reconcile, digest, sweep } = MAINTENANCE_TASKS;
  if (reconcileEveryMs > 0) {
    await queue.upsertJobScheduler(reconcile, { every: reconcileEveryMs }, template(reconcile));
  } else {
    await queue.removeJobScheduler(reconcile);
  }
  await queue.upsertJobScheduler(digest, { pattern: digestPattern, tz: 'UTC' }, template(digest, DIGEST_RETRIES));
  await queue.upsertJobScheduler(sweep, { every: sweepEveryMs }, template(sweep));
}

function template(name: TaskName, opts: JobSchedulerTemplateOptions = {}) {
  const kept = { count: RUNS_KEPT[name] };
  return { name, opts: { removeOnComplete: kept, removeOnFail: kept, ...opts } };
}

export function startMaintenance(
  { config, pool, connection, queues, log }: MaintenanceDeps,
  overrides: Partial<MaintenanceSettings> = {},
): { close(): Promise<void> } {
  const reconcileEveryMs = overrides.reconcileEveryMs ?? config.reconcileEveryMs;
  const settings: MaintenanceSettings = {
    reconcileEveryMs,
    reconcile: RECONCILE_DEFAULTS,
    digestPattern: DIGEST_PATTERN,
    sweepEveryMs: SWEEP_EVERY_MS,
    sweep: {},
    redrives: {},
    // As often as the reconciler runs, and at least as often as its default: a lost schedule then
    // comes back as soon as lost jobs do, even while the reconciler is off.
    rescheduleEveryMs: Math.min(RECONCILE_EVERY_MS, reconcileEveryMs > 0 ? reconcileEveryMs : Infinity),
    ...overrides,
  };
  const prefix = maintenanceQueuePrefix(config.queuePrefix);
  const queue = new Queue(MAINTENANCE_QUEUE, { connection, prefix });
  queue.on('error', () => undefined);

  const tasks: Readonly<Record<TaskName, (signal?: AbortSignal) => Promise<MaintenanceResult>>> = {
    [MAINTENANCE_TASKS.reconcile]: async () =>
      // A run left over from before the reconciler was turned off must not run a pass either.
      settings.reconcileEveryMs > 0
        ? reconcileOnce(pool, queues, { ...settings.reconcile, log })
        : { skipped: 'the reconciler is off (RECONCILE_EVERY_MS=0)' },
    [MAINTENANCE_TASKS.digest]: (signal) =>
      sendDeadLetterDigest({
        pool,
        log,
        webhookUrl: config.alerts.webhookUrl,
        webhookKey: config.alerts.webhookKey,
        providerTimeoutMs: config.providers.timeoutMs,
        signal,
      }),
    [MAINTENANCE_TASKS.sweep]: () => sweepRetention({ pool, queues, log }, settings.sweep),
  };

  // One task at a time per process: each is a background chore against the same database, and
  // running them side by side would only make them compete; a sweep delays a reconcile by seconds.
  const worker = new Worker<unknown, MaintenanceResult>(
    MAINTENANCE_QUEUE,
    (job: Job, _token?: string, signal?: AbortSignal) => {
      const task = isTaskName(job.name) ? tasks[job.name] : undefined;
      if (!task) throw new UnrecoverableError(`no maintenance task is named ${job.name}`);
      return task(signal);
    },
    { connection, prefix, concurrency: 1 },
  );
  worker.on('failed', (job, error) => log.warn('maintenance task failed', { task: job?.name, error: error.message }));
  worker.on('error', (error) => {
    if (!isConnectionError(error)) log.error('maintenance worker error', { error: error.message });
  });

  // The schedulers live in Valkey too, so the data loss the reconciler repairs would also end every
  // schedule. Every process upserts them again each rescheduleEveryMs, which changes nothing while
  // they exist.
  const stopping = new AbortController();
  const redrives = startDeadLetterRedrives({ pool, queues, log }, settings.redrives);
  void (async () => {
    while (!stopping.signal.aborted) {
      try {
        await scheduleMaintenance(queue, settings);
      } catch (error) {
        if (!(error instanceof Error && isConnectionError(error))) {
          log.warn('could not schedule the maintenance tasks', { error: error instanceof Error ? error.message : String(error) });
        }
      }
      await sleep(settings.rescheduleEveryMs, stopping.signal);
    }
  })();

  return {
    async close() {
      stopping.abort();
      await redrives.stop();
      // worker.close() waits forever while Valkey is gone; a task cut short is simply done again by
      // its next run.
      await closeWithGrace(
        { close: () => worker.close(), forceClose: () => worker.close(true) },
        { graceMs: config.workerShutdownDeadlineMs },
      );
      await closeWithGrace({ close: () => queue.close() }, { graceMs: 1_000 });
    },
  };
}

function isTaskName(name: string): name is TaskName {
  return (Object.values(MAINTENANCE_TASKS) as string[]).includes(name);
}
