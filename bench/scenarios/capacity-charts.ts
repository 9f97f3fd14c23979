// The capacity scenario's two charts: jobs/s per queue by worker processes, and where the
// machine's cores went during each of those drains.
import { QUEUE_NAMES } from '@/lib/queues';
import { backlogPhase, type BacklogRun, type Phase } from '@/bench/harness/backlog-drain';
import type { ScenarioReport } from '@/bench/harness/scenario';
import { barChart } from '@/bench/harness/svg-chart';

const PROCESS_COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706'];
/** Who used the cores, in coresByUser's order. */
export const USERS = [
  { name: 'worker processes + sandboxes', color: '#2563eb' },
  { name: 'PostgreSQL', color: '#16a34a' },
  { name: 'Valkey', color: '#dc2626' },
  { name: 'bench process (mocks)', color: '#d97706' },
  { name: 'other', color: '#94a3b8' },
];

export function capacityCharts(scaling: BacklogRun[], machineCores: number): ScenarioReport['charts'] {
  const legend = scaling.map((run, index) => ({
    name: `${run.processes} process${run.processes > 1 ? 'es' : ''}`,
    color: PROCESS_COLORS[index % PROCESS_COLORS.length] ?? '#000000',
  }));
  // One label under the middle bar of each group; the legend tells the bars apart.
  const middle = Math.floor(scaling.length / 2);
  const perQueue = [...QUEUE_NAMES, 'all'].flatMap((queue) =>
    scaling.map((run, index) => {
      const phase = backlogPhase(run);
      const value = queue === 'all' ? phase.jobsPerSecond : (phase.perQueuePerSecond[queue] ?? 0);
      return { label: index === middle ? queue : '', value, color: legend[index]?.color };
    }),
  );
  const cores = scaling.flatMap((run, group) =>
    coresByUser(backlogPhase(run)).map((value, index) => ({
      label: index === Math.floor(USERS.length / 2) ? (legend[group]?.name ?? '') : '',
      value,
      color: USERS[index]?.color,
    })),
  );
  return [
    {
      name: 'jobs-per-process',
      caption: 'Jobs/s per queue with 1, 2 and 4 worker processes (limiters lifted)',
      svg: barChart({ title: 'Jobs/s by worker processes, per queue', unit: '/s', bars: perQueue, legend }),
    },
    {
      name: 'cores',
      caption: 'Where the cores went while draining, by worker processes',
      svg: barChart({ title: `Cores used while draining (the machine has ${machineCores})`, unit: '', bars: cores, legend: USERS }),
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

