// What a capacity model needs, measured on this machine: how much Valkey work one signup costs, where
// one Valkey primary would saturate, how the pipeline's jobs/s grows with worker processes and where
// the machine's two cores run out, and what one worker process does per queue. No targets: every
// figure is reported "not judged", for the model to use.
//
// Everything runs on a private valkey-server with production's flags, the mock providers up with no
// rate limits, the real producer (createSignup) and the real handlers in worker processes of their
// own with BullMQ's limiters lifted (backlog-drain.ts, lifted-limits-worker.ts). The load averages
// are recorded before each measurement, since other people's work shares this machine.
//
//  1. Valkey's cost per signup, with one worker process: INFO commandstats, stats and cpu read
//     around an idle stretch (what waiting costs: timers, blocking reads), signups produced at a
//     steady rate (production below saturation), and a backlog built in paused queues and then
//     drained (the regime at saturation, where a worker always finds a next job).
//  2. Saturation. Valkey runs commands on one thread, so one primary saturates near 1,000 ms of
//     main-thread CPU per second: signups/s ≈ (1,000 − idle) ÷ (ms per signup in the backlog), an
//     estimate that assumes the cost per signup holds as the rate rises. The cross-check pushes
//     BullMQ no-op jobs as hard as this machine can (1 to 3 processes of no-op workers, 50 jobs in
//     flight per queue each) and reads Valkey's main-thread CPU at the rate reached: near 100%,
//     Valkey was the limit; below it, the machine's cores were, shared with the processes pushing.
//  3. Scaling. The same backlog drained by 1, 2 and 4 worker processes, with the machine's CPU
//     from /proc/stat and who used it.
//  4. One worker process, each queue resumed alone on another backlog.
// Parts 1, 3 (one process) and 4 are rounds of one run, so that process starts once.
import { QUEUE_NAMES } from '@/lib/queues';
import {
  drainBacklog,
  backlogPhase,
  LIFTED_LIMITS_WORKER,
  NO_OP_WORKER,
  noOpBacklog,
  signupBacklog,
  type BacklogRun,
  type RoundPlan,
} from '@/bench/harness/backlog-drain';
import { startBenchStack, type BenchStack } from '@/bench/harness/bench-stack';
import { loadAverage } from '@/bench/harness/machine-cpu';
import type { BenchOptions, Scenario } from '@/bench/harness/scenario';
import { percent, rate } from '@/bench/harness/throughput';
import type { CapacitySize, NoOpRun } from '@/bench/scenarios/capacity-data';
import { capacityReport } from '@/bench/scenarios/capacity-report';

/**
 * Full: about four minutes on the 2-core machine when nothing else runs (twelve with a test suite
 * beside it). 1,000 signups are 4,000 jobs, 30 to 50 s for one worker process; 50 signups/s is
 * what one process keeps up with, avatars included; the no-op backlog is a few seconds of
 * draining. Quick checks the harness only, most of its time spent starting processes and their
 * avatar sandboxes.
 */
const SIZES: { full: CapacitySize; quick: CapacitySize } = {
  full: {
    idleMs: 3_000,
    flow: { signups: 750, perSecond: 50 },
    scaling: { signups: 1_000, processes: [1, 2, 4] },
    noOp: { perQueue: 15_000, warmUpPerQueue: 200, processes: [1, 2, 3], concurrency: 50 },
    warmUpSignups: 20,
    deadlineMs: 300_000,
  },
  quick: {
    idleMs: 500,
    flow: { signups: 20, perSecond: 20 },
    // One process: every kind of round; the no-op run covers several processes.
    scaling: { signups: 20, processes: [1] },
    noOp: { perQueue: 300, warmUpPerQueue: 20, processes: [2], concurrency: 50 },
    warmUpSignups: 2,
    // Generous for a tiny backlog: forking avatar sandboxes on a busy machine can take this long.
    deadlineMs: 90_000,
  },
};

export const scenario: Scenario = {
  id: 'capacity',
  title: 'Capacity: Valkey cost per signup, its saturation point, and worker scaling',
  async run({ quick, progress }) {
    const size = quick ? SIZES.quick : SIZES.full;
    const loadAtStart = loadAverage();
    const stack = await startBenchStack({ unlimitedProviders: true });
    try {
      const scaling: BacklogRun[] = [];
      for (const processes of size.scaling.processes) scaling.push(await drainSignups(stack, size, processes, progress));
      const noOp = await pushNoOp(stack, size, progress);
      return capacityReport({ size, serverVersion: stack.serverVersion, loadAtStart, scaling, noOp });
    } finally {
      await stack.close();
    }
  },
};

async function drainSignups(stack: BenchStack, size: CapacitySize, processes: number, progress: BenchOptions['progress']) {
  const backlog: RoundPlan = { kind: 'backlog', phases: [QUEUE_NAMES] };
  const rounds: RoundPlan[] =
    processes === 1
      ? [
          { kind: 'idle', ms: size.idleMs },
          { kind: 'flow', perSecond: size.flow.perSecond },
          backlog,
          { kind: 'backlog', phases: QUEUE_NAMES.map((queue) => [queue]) },
        ]
      : [backlog];
  const run = await drainBacklog(stack, {
    label: `capacity-${processes}-process`,
    processes,
    entry: LIFTED_LIMITS_WORKER,
    ...signupBacklog(stack, { backlog: size.scaling.signups, flow: size.flow.signups, warmUp: size.warmUpSignups * processes }),
    rounds,
    deadlineMs: size.deadlineMs,
  });
  for (const round of run.rounds) {
    const work =
      round.kind === 'idle'
        ? ['no jobs']
        : round.phases.map((phase) => `${phase.served.length === 1 ? phase.served[0] : 'all'} ${rate(phase.jobsPerSecond)} jobs/s`);
    progress(
      `${processes} process(es), ${round.kind}${round.built ? ` of ${round.built}` : ''}: ${work.join(', ')}; Valkey main thread ` +
        `${percent(round.phases[0]?.valkey.mainThreadUtilisation ?? Number.NaN)}, ` +
        `machine ${percent(round.phases[0]?.cpu.machineBusy ?? Number.NaN)} busy ` +
        `(load ${round.buildLoad.one.toFixed(2)})`,
    );
  }
  return run;
}

async function pushNoOp(stack: BenchStack, size: CapacitySize, progress: BenchOptions['progress']): Promise<NoOpRun[]> {
  const runs: NoOpRun[] = [];
  const { perQueue, warmUpPerQueue, concurrency } = size.noOp;
  for (const processes of size.noOp.processes) {
    const run = await drainBacklog(stack, {
      label: `capacity-noop-${processes}`,
      processes,
      entry: NO_OP_WORKER,
      args: ['--concurrency', String(concurrency)],
      ...noOpBacklog(perQueue, warmUpPerQueue),
      rounds: [{ kind: 'backlog', phases: [QUEUE_NAMES] }],
      deadlineMs: size.deadlineMs,
    });
    const phase = backlogPhase(run);
    progress(
      `no-op, ${processes} process(es): ${rate(phase.jobsPerSecond)} jobs/s, Valkey main thread ` +
        `${percent(phase.valkey.mainThreadUtilisation)} of a core, machine ${percent(phase.cpu.machineBusy)} busy ` +
        `(load ${phase.load.one.toFixed(2)})`,
    );
    runs.push({ ...run, concurrency });
  }
  return runs;
}
