// Worker processes of their own draining signups' or no-op jobs, for capacity.ts. The processes
// start first and warm up on a few jobs (BullMQ loads its scripts, avatar sandboxes are forked, the
// JIT starts); then rounds follow with the same processes, each measured:
//  - backlog: the queues are paused, a backlog is built, and each phase resumes some queues and
//    times them until their last job ends. Pausing makes a phase's start one moment for every
//    process however long each took to boot, and a phase that resumes one queue drains it alone.
//  - flow: signups produced at a steady rate with every queue running, until the last job ends.
//  - idle: nothing produced for a while, to see what waiting costs.
//
// Each phase records, from its start to its last job's end: jobs/s per queue (a queue's end is its
// newest job's finishedOn, so the 200 ms poll that notices the end adds nothing), the machine's CPU
// and who used it (machine-cpu.ts), Valkey's commands, bytes and CPU (valkey-work.ts), and the load
// averages just before, since this machine is shared.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QueueName } from '@/lib/config';
import { closeQueueSet, createQueueSet, QUEUE_NAMES, type QueueSet } from '@/lib/queues';
import { startWorkers, type AppProcess } from '@/bench/harness/app-processes';
import type { BenchStack } from '@/bench/harness/bench-stack';
import { cpuBetween, cpuSnapshot, loadAverage, type CpuUse, type LoadAverage } from '@/bench/harness/machine-cpu';
import { enqueueSignups, noOpJobs } from '@/bench/harness/pipeline-drain';
import { addInChunks, perSecond } from '@/bench/harness/throughput';
import { valkeyCounters, valkeyWorkBetween, type ValkeyWork } from '@/bench/harness/valkey-work';

/** How often the end of a phase is looked for: a few commands per poll, next to thousands of jobs. */
const POLL_EVERY_MS = 200;
export const LIFTED_LIMITS_WORKER = 'bench/harness/lifted-limits-worker.ts';
export const NO_OP_WORKER = 'bench/harness/noop-worker.ts';

export interface Phase {
  served: QueueName[];
  /** Just before the phase. */
  load: LoadAverage;
  /** Jobs of the backlog per served queue, and how they ended. */
  jobs: Record<string, number>;
  completed: Record<string, number>;
  failed: Record<string, number>;
  /** Resume to the queue's last job's end. */
  drainMs: Record<string, number>;
  totalDrainMs: number;
  jobsPerSecond: number;
  perQueuePerSecond: Record<string, number>;
  cpu: CpuUse;
  valkey: ValkeyWork;
}

export type RoundPlan =
  /** Nothing produced for `ms`: what the processes and Valkey cost with no work (timers, blocking waits). */
  | { kind: 'idle'; ms: number }
  /** Signups produced at a steady rate with every queue running, as in production below saturation. */
  | { kind: 'flow'; perSecond: number }
  /** A backlog built in the paused queues, then drained by phases: groups of queues resumed in turn. */
  | { kind: 'backlog'; phases: ReadonlyArray<readonly QueueName[]> };

export interface Round {
  kind: RoundPlan['kind'];
  /** What the builder reported: signups dispatched at once, or no-op jobs added per queue. */
  built: number;
  /** Jobs per queue: a backlog's read back from Valkey (a producer timeout leaves a job out). */
  jobs: Record<QueueName, number>;
  buildMs: number;
  /** Valkey while a backlog was built, no worker taking a job (the queues were paused). */
  buildValkey?: ValkeyWork;
  buildLoad: LoadAverage;
  /** A backlog's drains; for flow and idle one phase, from the round's start to its last job's end. */
  phases: Phase[];
}

export interface BacklogRun {
  processes: number;
  /** Start of the processes until each logged it was ready. */
  startMs: number;
  rounds: Round[];
}

export interface BacklogOptions {
  label: string;
  processes: number;
  /** What each process runs: LIFTED_LIMITS_WORKER or NO_OP_WORKER, with its arguments. */
  entry: string;
  args?: readonly string[];
  /** Jobs per queue run before the first round, so the processes are warm. */
  warmUp(queues: QueueSet, prefix: string): Promise<number>;
  /** Builds a backlog, or with `perSecond` produces at that rate; returns signups or jobs per queue. */
  build(queues: QueueSet, prefix: string, perSecond?: number): Promise<number>;
  /** One after the other, with the same processes, which saves starting them again. */
  rounds: readonly RoundPlan[];
  deadlineMs: number;
}

export async function drainBacklog(stack: BenchStack, options: BacklogOptions): Promise<BacklogRun> {
  const prefix = `${options.label}-${randomUUID().slice(0, 8)}`;
  // The stack's patient connection: its commands wait rather than fail on a busy machine.
  const queues = createQueueSet(stack.probe, prefix);
  const processes: AppProcess[] = [];
  try {
    const started = performance.now();
    processes.push(
      ...(await Promise.all(
        Array.from({ length: options.processes }, (_, index) =>
          startWorkers(stack, {
            label: `${options.label}-${index + 1}-of-${options.processes}`,
            entry: options.entry,
            args: options.args,
            env: { QUEUE_PREFIX: prefix },
          }),
        ),
      )),
    );
    const startMs = performance.now() - started;
    // Built paused, then resumed at once, so each process takes jobs several at a time and forks
    // every avatar sandbox it will use now rather than in a measured phase.
    await Promise.all(QUEUE_NAMES.map((queue) => queues[queue].pause()));
    const warmUp = await options.warmUp(queues, prefix);
    await Promise.all(QUEUE_NAMES.map((queue) => queues[queue].resume()));
    if (warmUp > 0) await untilDrained(queues, QUEUE_NAMES, options.deadlineMs);

    const measure = (served: readonly QueueName[], start: () => Promise<Record<QueueName, number>>) =>
      measurePhase(stack, queues, { served, processes, deadlineMs: options.deadlineMs, start });
    const rounds: Round[] = [];
    for (const plan of options.rounds) {
      const buildLoad = loadAverage();
      if (plan.kind === 'backlog') {
        await Promise.all(QUEUE_NAMES.map((queue) => queues[queue].pause()));
        const beforeBuild = await valkeyCounters(stack.probe);
        const building = performance.now();
        const built = await options.build(queues, prefix);
        const buildMs = performance.now() - building;
        const buildValkey = valkeyWorkBetween(beforeBuild, await valkeyCounters(stack.probe));
        const jobs = await unfinished(queues, QUEUE_NAMES);
        const phases: Phase[] = [];
        for (const served of plan.phases) {
          const resume = async () => {
            await Promise.all(served.map((queue) => queues[queue].resume()));
            return jobs;
          };
          phases.push(await measure(served, resume));
        }
        rounds.push({ kind: plan.kind, built, jobs, buildMs, buildValkey, buildLoad, phases });
        continue;
      }
      await Promise.all(QUEUE_NAMES.map((queue) => queues[queue].resume()));
      let built = 0;
      let buildMs = 0;
      const phase = await measure(QUEUE_NAMES, async () => {
        const building = performance.now();
        if (plan.kind === 'flow') built = await options.build(queues, prefix, plan.perSecond);
        else await sleep(plan.ms);
        buildMs = performance.now() - building;
        return perQueue(built);
      });
      rounds.push({ kind: plan.kind, built, jobs: perQueue(built), buildMs, buildLoad, phases: [phase] });
    }
    return { processes: options.processes, startMs, rounds };
  } finally {
    await Promise.all(processes.map((worker) => worker.stop()));
    await closeQueueSet(queues);
  }
}

/** The first drain of a run's first backlog round: the whole of a one-backlog run. */
export function backlogPhase(run: BacklogRun): Phase {
  const phase = run.rounds.find((round) => round.kind === 'backlog')?.phases[0];
  if (!phase) throw new Error('a run without a backlog');
  return phase;
}

/**
 * Signups through the real producer: `backlog` at once, or `flow` of them at the rate a flow round
 * asks for; `warmUp` to start with.
 */
export function signupBacklog(stack: BenchStack, { backlog, flow, warmUp }: { backlog: number; flow: number; warmUp: number }) {
  const signups = async (prefix: string, count: number, perSecond?: number) =>
    (await enqueueSignups({ url: stack.valkeyUrl, databaseUrl: stack.config.databaseUrl, prefix, count, perSecond })).dispatched;
  return {
    warmUp: (_queues: QueueSet, prefix: string) => signups(prefix, warmUp),
    build: (_queues: QueueSet, prefix: string, perSecond?: number) =>
      perSecond ? signups(prefix, flow, perSecond) : signups(prefix, backlog),
  };
}

/** Backlog of `perQueue` no-op jobs on every queue, added in chunks, the four queues at once (no flow). */
export function noOpBacklog(perQueue: number, warmUpPerQueue: number) {
  const fill = async (queues: QueueSet, count: number) => {
    await Promise.all(QUEUE_NAMES.map((queue) => addInChunks(queues[queue], noOpJobs(queue, count))));
    return count;
  };
  return { warmUp: (queues: QueueSet) => fill(queues, warmUpPerQueue), build: (queues: QueueSet) => fill(queues, perQueue) };
}

/**
 * From `start` (which resumes queues, produces, or waits, and returns the jobs it put in play per
 * queue) until no served queue has a job left: jobs/s, CPU and Valkey's work.
 */
async function measurePhase(
  stack: BenchStack,
  queues: QueueSet,
  {
    served,
    processes,
    deadlineMs,
    start,
  }: {
    served: readonly QueueName[];
    processes: readonly AppProcess[];
    deadlineMs: number;
    start(): Promise<Record<QueueName, number>>;
  },
): Promise<Phase> {
  const load = loadAverage();
  const failedBefore = await Promise.all(served.map((queue) => queues[queue].getFailedCount()));
  const sources = { workerPids: processes.map((worker) => worker.pid), db: stack.db };
  const cpuFrom = await cpuSnapshot(sources);
  const valkeyFrom = await valkeyCounters(stack.probe);
  const startedAt = Date.now();
  const inPlay = await start();
  await untilDrained(queues, served, deadlineMs);
  const endedAt = Date.now();
  const cpuTo = await cpuSnapshot(sources);
  const valkeyTo = await valkeyCounters(stack.probe);

  const jobs: Record<string, number> = {};
  const completed: Record<string, number> = {};
  const failed: Record<string, number> = {};
  const drainMs: Record<string, number> = {};
  for (const [index, queue] of served.entries()) {
    const [failedCount, [lastCompleted], [lastFailed]] = await Promise.all([
      queues[queue].getFailedCount(),
      queues[queue].getCompleted(0, 0),
      queues[queue].getFailed(0, 0),
    ]);
    jobs[queue] = inPlay[queue];
    // Retention trims completed jobs past 10,000 per queue, so they are counted as what did not fail.
    failed[queue] = failedCount - (failedBefore[index] ?? 0);
    completed[queue] = inPlay[queue] - failed[queue];
    // With no job in play (an idle round) the phase is simply its length.
    const lastEnd = Math.max(lastCompleted?.finishedOn ?? 0, lastFailed?.finishedOn ?? 0);
    drainMs[queue] = inPlay[queue] > 0 ? lastEnd - startedAt : endedAt - startedAt;
  }
  const totalDrainMs = Math.max(...Object.values(drainMs));
  const total = Object.values(jobs).reduce((sum, count) => sum + count, 0);
  return {
    served: [...served],
    load,
    jobs,
    completed,
    failed,
    drainMs,
    totalDrainMs,
    jobsPerSecond: perSecond(total, totalDrainMs),
    perQueuePerSecond: Object.fromEntries(served.map((queue) => [queue, perSecond(jobs[queue] ?? 0, drainMs[queue] ?? Number.NaN)])),
    cpu: cpuBetween(cpuFrom, cpuTo),
    valkey: valkeyWorkBetween(valkeyFrom, valkeyTo),
  };
}

function perQueue(count: number): Record<QueueName, number> {
  return Object.fromEntries(QUEUE_NAMES.map((queue) => [queue, count])) as Record<QueueName, number>;
}

/** Jobs not yet ended: waiting (a paused queue's too, in BullMQ 6), prioritized, running, or delayed for a retry. */
const UNFINISHED = ['wait', 'prioritized', 'active', 'delayed', 'waiting-children'] as const;

/** Jobs not yet ended per queue. */
async function unfinished(queues: QueueSet, served: readonly QueueName[]): Promise<Record<QueueName, number>> {
  const counts = await Promise.all(served.map((queue) => queues[queue].getJobCounts(...UNFINISHED)));
  const left = perQueue(0);
  served.forEach((queue, index) => {
    left[queue] = Object.values(counts[index] ?? {}).reduce((sum, value) => sum + value, 0);
  });
  return left;
}

async function untilDrained(queues: QueueSet, served: readonly QueueName[], deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const left = await unfinished(queues, served);
    if (served.every((queue) => left[queue] === 0)) return;
    if (Date.now() > deadline) {
      const state = served.map((queue) => `${queue} ${left[queue]} left`).join(', ');
      throw new Error(`backlog not drained within ${Math.round(deadlineMs / 1_000)} s: ${state}`);
    }
    await sleep(POLL_EVERY_MS);
  }
}
