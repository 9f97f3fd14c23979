// The efficiency scenario's chart, from the data it saves: CPU per signup and per job beside the
// floor each is judged by, with the target over each pair. Apart from efficiency.ts so that
// bench/render-charts.ts can draw a saved run again without starting anything.
import type { Chart } from '@/bench/harness/scenario';
import { barChart, type Bar, type Target } from '@/bench/harness/svg-chart';
import type { QueueName } from '@/lib/queues';

/** The targets: the web's CPU per signup against the floor's, a job's against BullMQ's no-op. */
export const TARGET_WEB_RATIO = 3;
export const TARGET_WORKER_RATIO = 10;
/** The queues the worker's CPU per job is judged on; avatars render in sandboxes, a line of their own. */
export const JUDGED_QUEUES: readonly QueueName[] = ['email', 'crm', 'analytics'];

const OURS_COLOR = '#2563eb';
const FLOOR_COLOR = '#dc2626';

/** What the chart reads of the scenario's saved data. */
export interface EfficiencyChartData {
  steady: { webCpuMsPerSignup: number };
  floorMsPerSignup: number;
  perJob: { real: Partial<Record<QueueName, number>>; noOp: Partial<Record<QueueName, number>> };
}

export function efficiencyCharts({ steady, floorMsPerSignup, perJob }: EfficiencyChartData): Chart[] {
  const pairs = [
    { label: 'per signup', ours: steady.webCpuMsPerSignup, floor: floorMsPerSignup, ratio: TARGET_WEB_RATIO },
    ...JUDGED_QUEUES.map((queue) => ({
      label: `per ${queue === 'crm' ? 'CRM' : queue} job`,
      ours: perJob.real[queue] ?? Number.NaN,
      floor: perJob.noOp[queue] ?? Number.NaN,
      ratio: TARGET_WORKER_RATIO,
    })),
  ];
  const bars: Bar[] = pairs.flatMap(({ label, ours, floor }) => [
    { label, value: ours, color: OURS_COLOR },
    { label, value: floor, color: FLOOR_COLOR },
  ]);
  // Short labels over each pair, spelled out in the legend: the pairs leave little room.
  const targets: Target[] = pairs.map(({ floor, ratio }, index) => ({
    value: floor * ratio,
    label: `≤ ${ratio}×`,
    bars: [2 * index, 2 * index + 1],
  }));
  return [
    {
      name: 'cpu-vs-floor',
      caption: 'CPU per signup and per job, against the floor each is judged by',
      svg: barChart({
        title: 'CPU per signup and per job, against its floor',
        unit: 'ms of CPU',
        bars,
        targets,
        legend: [
          { name: 'ours: the web per signup, the worker per job', color: OURS_COLOR },
          { name: 'floor: plain pg + BullMQ per signup, BullMQ no-op per job', color: FLOOR_COLOR },
          { name: `target: ≤ ${TARGET_WEB_RATIO}× the floor per signup, ≤ ${TARGET_WORKER_RATIO}× the no-op per job`, color: '#0f172a', dashed: true },
        ],
      }),
    },
  ];
}
