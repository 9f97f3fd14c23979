// The capacity scenario's two charts, from the data it saves: jobs/s per queue by worker processes,
// and where the machine's cores went during each of those drains. Imports no code that starts
// anything, so that bench/render-charts.ts can draw a saved run again outside the bench's runtime.
import { QUEUE_NAMES } from '@/lib/queues';
import type { BacklogRun, Phase } from '@/bench/harness/backlog-drain';
import type { Chart } from '@/bench/harness/scenario';
import { barChart } from '@/bench/harness/svg-chart';
import type { CapacityData } from '@/bench/scenarios/capacity-data';

const PROCESS_COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706'];
/** Who used the cores, in coresByUser's order. */
export const USERS = [
  { name: 'worker processes + sandboxes', color: '#2563eb' },
  { name: 'PostgreSQL', color: '#16a34a' },
  { name: 'Valkey', color: '#dc2626' },
  { name: 'bench process (mocks)', color: '#d97706' },
  { name: 'other', color: '#94a3b8' },
];

export function capacityCharts({ scaling }: Pick<CapacityData, 'scaling'>): Chart[] {
  const legend = scaling.map((run, index) => ({
    name: processes(run),
    color: PROCESS_COLORS[index % PROCESS_COLORS.length] ?? '#000000',
  }));
  const perQueue = [...QUEUE_NAMES, 'all'].flatMap((queue) =>
    scaling.map((run, index) => {
      const phase = drainOf(run);
      const value = queue === 'all' ? phase.jobsPerSecond : (phase.perQueuePerSecond[queue] ?? 0);
      return { label: queue, value, color: legend[index]?.color };
    }),
  );
  const cores = scaling.flatMap((run) =>
    coresByUser(drainOf(run)).map((value, index) => ({ label: processes(run), value, color: USERS[index]?.color })),
  );
  const machineCores = scaling[0] ? drainOf(scaling[0]).cpu.cores : Number.NaN;
  return [
    {
      name: 'jobs-per-process',
      caption: 'Jobs/s per queue with 1, 2 and 4 worker processes (limiters lifted)',
      svg: barChart({ title: 'Jobs/s by worker processes, per queue', unit: 'jobs/s', bars: perQueue, legend }),
    },
    {
      name: 'cores',
      caption: 'Where the cores went while draining, by worker processes',
      svg: barChart({ title: `Cores used while draining (the machine has ${machineCores})`, unit: 'cores', bars: cores, legend: USERS }),
    },
  ];
}

/** Cores used on average during a drain, in USERS' order; "other" is the machine's busy rest. */
export function coresByUser(phase: Phase): number[] {
  const valkey = phase.valkey.processCpuMs / 1_000 / phase.valkey.seconds;
  const known = [phase.cpu.workers, phase.cpu.postgres, valkey, phase.cpu.benchProcess];
  const other = phase.cpu.machineBusy * phase.cpu.cores - known.reduce((sum, cores) => sum + cores, 0);
  return [...known, Math.max(0, other)];
}

function processes(run: BacklogRun): string {
  return `${run.processes} process${run.processes > 1 ? 'es' : ''}`;
}

/**
 * The run's backlog drain, as backlog-drain.ts's backlogPhase finds it: that module starts
 * processes and imports the app's server-only modules, which plain tsx cannot load.
 */
function drainOf(run: BacklogRun): Phase {
  const phase = run.rounds.find((round) => round.kind === 'backlog')?.phases[0];
  if (!phase) throw new Error(`the ${processes(run)} run has no backlog drain`);
  return phase;
}
